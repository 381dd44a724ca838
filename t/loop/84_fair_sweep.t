# SPDX-License-Identifier: Apache-2.0
# Fair sweeps: the lost-trigger recovery (open slots left without a live
# offer) picks work across shops and skips shops in quiet hours, so one shop
# with more such slots than a sweep's batch (500) cannot starve the others.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(sweep live_offer local_hhmm sent_messages);

reset_all();

# Slot openings made straight in the database, as a lost trigger leaves them:
# open, no offer. $n of them for $shop, the first $from seconds from now, a
# minute apart.
sub orphan_slots {
    my ($shop, $canceller, $n, $from) = @_;
    my $ids = db()->selectcol_arrayref(q{
        WITH a AS (
            INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at, status, cancelled_at)
            SELECT ?, ?, now() + make_interval(secs => ? + 60 * g), now() + make_interval(secs => ? + 60 * g + 1800),
                   'cancelled', now()
              FROM generate_series(1, ?) g RETURNING id, shop_id, starts_at, ends_at)
        INSERT INTO slot_openings (shop_id, source_appointment_id, starts_at, ends_at)
        SELECT shop_id, id, starts_at, ends_at FROM a ORDER BY starts_at RETURNING id}, undef,
        $shop->{id}, $canceller->{id}, $from, $from, $n);
    return $ids;
}

my $tz = 'America/New_York';
my $quiet = make_shop(name => 'Quiet Many', timezone => $tz, quietHoursStart => local_hhmm($tz, -3600),
    quietHoursEnd => local_hhmm($tz, 3600));
my $qc = make_customer($quiet->{id}, name => 'Quiet canceller');
my $qw = make_customer($quiet->{id}, name => 'Quiet waiter');
my $busy = make_shop(name => 'Busy Many');
my $bc = make_customer($busy->{id}, name => 'Busy canceller');
my $bw = make_customer($busy->{id}, name => 'Busy waiter');
my $small = make_shop(name => 'Small One');
my $sc = make_customer($small->{id}, name => 'Small canceller');
my $sw = make_customer($small->{id}, name => 'Small waiter');

# The quiet shop's 600 slots start first, then 600 of another shop, then the small shop's one.
my $quiet_slots = orphan_slots($quiet, $qc, 600, 86400);
my $busy_slots = orphan_slots($busy, $bc, 600, 2 * 86400);
my ($small_slot) = @{ orphan_slots($small, $sc, 1, 3 * 86400) };
is scalar @$quiet_slots, 600, 'setup: 600 open slots without an offer in a shop in its quiet hours';

sweep();
my $live = live_offer($small_slot);
ok $live, "one sweep offers the small shop's slot, behind 1,200 earlier ones";
is $live && $live->{customer_id}, $sw->{id}, '... to its waiting customer';
ok live_offer($busy_slots->[0]), "... and the other shop's earliest slot";
is db_count(q{slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id WHERE o.shop_id = ?}, $quiet->{id}), 0,
    'the quiet shop: no offer made';
is db_count(q{slot_openings WHERE shop_id = ? AND status = 'open'}, $quiet->{id}), 600, '... its slots stay open';
ok !grep({ $_->{form}{To} eq $qw->{phone} } @{ sent_messages() }), '... and no SMS to its customer';

done_testing();
