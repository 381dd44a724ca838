# SPDX-License-Identifier: Apache-2.0
# No waitlist yet is not the end: a slot nobody can take stays open, waiting
# for a customer (the API's "waiting", the dashboard says so), the sweep leaves
# it alone, a customer who joins the waitlist (smsOptIn true), texts START, or
# is freed by cancelling their own appointment at that time is offered it at
# once, and only its cutoff expires it.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel conf_value offer_loop offers_of live_offer sent_messages slot_view);
use SlotRecovery::Flows qw(sms sweep slot);
use SlotRecovery::Dashboard qw(page tree text rows grant);

reset_all();

my $cutoff = conf_value('SlotRecoveryOfferCutoff', 300);

sub offered_to {
    my ($slot_id, $customer) = @_;
    my $live = live_offer($slot_id);
    return $live && $live->{customer_id} eq $customer->{id} && $live->{status} eq 'sent';
}

sub sms_count_to { scalar grep { $_->{form}{To} eq $_[0]{phone} } @{ sent_messages() } }

# A shop whose waitlist has nobody who could take a slot: only the canceller
# and a customer who did not opt in.
my $shop = make_shop(name => 'Empty Chairs');
grant($shop->{id}, 'owner1');
my $canceller = make_customer($shop->{id}, name => 'Cancels');
my $shy = make_customer($shop->{id}, name => 'Shy', smsOptIn => json_false());
my $appt = make_appointment($shop->{id}, $canceller->{id});
my $r = cancel($appt->{id});
is $r->status, 200, 'cancel with nobody to offer it to: 200' or diag $r->dump;
my $slot = $r->json->{slotOpening};
is $slot->{status}, 'open', 'the slot stays open';
ok $slot->{waiting} && JSON::PP::is_bool($slot->{waiting}), '... "waiting": true';
is_deeply $slot->{offers}, [], '... no offer';
my $row = slot($slot->{id});
ok defined $row->{waiting_since}, 'row: waiting_since set';
ok !defined $row->{expired_at} && !defined $row->{expired_reason}, 'row: not expired';

$r = offer_loop($slot->{id});
is $r->json && $r->json->{action}, 'noop', 'offer-loop: noop' or diag $r->dump;
like $r->json && $r->json->{reason}, qr/waiting for a customer/, '... waiting for a customer';

# The sweep leaves a waiting slot alone: nothing written, nothing expired.
my $before = slot($slot->{id});
for (1 .. 2) {
    my $rep = sweep();
    is $rep->{slotsExpired}, 0, "sweep $_: nothing expired";
}
my $after = slot($slot->{id});
is $after->{status}, 'open', '... the slot is still open';
is $after->{updated_at}, $before->{updated_at}, '... and its row untouched';

# The dashboard says what it waits for.
{
    my $p = page(owner1 => '/app/appointments');
    is $p->status, 200, 'dashboard: 200' or diag $p->dump;
    my $t = tree($p);
    my ($tr) = grep { text($_->[0]) ne '' } rows($t->look_down(_tag => 'table', class => 'slots'));
    like text($tr->[1]), qr/^open waiting for a waitlist customer$/, 'the slot list: open, waiting for a waitlist customer';
    $t->delete;
    $p = page(owner1 => "/app/slot-openings/$slot->{id}");
    like $p->{html}, qr{<th>Waiting</th><td>waiting for a waitlist customer: nobody on the waitlist can take it yet</td>},
        'the slot page says so';
}

# Joining without consent changes nothing.
my $quiet = make_customer($shop->{id}, name => 'No SMS', smsOptIn => json_false());
ok slot_view($slot->{id})->{waiting}, 'a customer joining without smsOptIn: still waiting';
is scalar @{ sent_messages() }, 0, '... no SMS';

# Joining the waitlist: offered at once, before the answer, no sweep needed.
my $late = make_customer($shop->{id}, name => 'Late Joiner');
ok offered_to($slot->{id}, $late), 'a customer joining the waitlist is offered the waiting slot at once';
is sms_count_to($late), 1, '... by SMS';
my $v = slot_view($slot->{id});
ok !$v->{waiting} && JSON::PP::is_bool($v->{waiting}), '... "waiting": false';
ok !defined slot($slot->{id})->{waiting_since}, '... row: waiting_since cleared';

# Their offer expires and nobody else is left: waiting again, then the cutoff
# expires it, for want of an eligible customer.
db_do(q{UPDATE slot_offers SET expires_at = now() - interval '1 second' WHERE slot_opening_id = ?}, $slot->{id});
my $rep = sweep();
is $rep->{slotsExpired}, 0, 'the last offer expires: the slot is not expired';
ok slot_view($slot->{id})->{waiting}, '... it waits again';
db_do(q{UPDATE slot_openings SET starts_at = now() + make_interval(secs => ?), ends_at = now() + interval '2 hours'
        WHERE id = ?}, int($cutoff / 2), $slot->{id});
sweep();
$row = slot($slot->{id});
is $row->{status}, 'expired', 'its cutoff expires it';
is $row->{expired_reason}, 'no_eligible_customer', "... 'no_eligible_customer'";
ok !slot_view($slot->{id})->{waiting}, '... no longer waiting';

# START: a customer who had opted out opts in again and is offered at once.
{
    my $s2 = make_shop(name => 'Second Chance', smsFrom => '+15005550011');
    my $cx = make_customer($s2->{id}, name => 'Cancels too');
    my $back = make_customer($s2->{id}, name => 'Comes Back');
    my $stop = sms($back->{phone}, 'STOP', to => '+15005550011');
    is db_row('SELECT sms_opt_in FROM customers WHERE id = ?', $back->{id})->{sms_opt_in}, 0, 'setup: STOP opts out';
    my $s = cancel(make_appointment($s2->{id}, $cx->{id})->{id})->json->{slotOpening};
    ok $s->{waiting}, 'setup: the slot waits';
    my $start = sms($back->{phone}, 'START', to => '+15005550011');
    like $start->{message} // '', qr/you will get slot offers again/, 'START: opted in again' or diag $start->dump;
    ok offered_to($s->{id}, $back), '... and offered the waiting slot at once';
    is sms_count_to($back), 1, '... by SMS';
}

# A customer freed by the cancellation of their own appointment at that time is offered the slot that waited.
{
    my $s4 = make_shop(name => 'Freed Up', smsFrom => '+15005550013');
    my $cx = make_customer($s4->{id}, name => 'First to cancel');
    my $busy = make_customer($s4->{id}, name => 'Busy then');
    my ($from, $to) = (iso_in(3 * 86400), iso_in(3 * 86400 + 3600));
    my $first = make_appointment($s4->{id}, $cx->{id}, startsAt => $from, endsAt => $to);
    my $theirs = make_appointment($s4->{id}, $busy->{id}, startsAt => $from, endsAt => $to);
    my $w = cancel($first->{id})->json->{slotOpening};
    ok $w->{waiting}, 'setup: the only other customer is busy at that time: the slot waits';
    my $r = cancel($theirs->{id});
    is $r->status, 200, 'that customer cancels their own appointment then' or diag $r->dump;
    ok offered_to($w->{id}, $busy), '... and is offered the slot that waited, at once';
    ok !slot_view($w->{id})->{waiting}, '... which no longer waits';
}

# Many waiting slots: the first five (earliest first) at once, the others by the next sweep.
{
    my $s3 = make_shop(name => 'Many Chairs', smsFrom => '+15005550012');
    my $cx = make_customer($s3->{id}, name => 'Cancels often');
    my @slots;
    for my $i (1 .. 7) {
        my $a = make_appointment($s3->{id}, $cx->{id}, startsAt => iso_in(86400 * (8 - $i)),
            endsAt => iso_in(86400 * (8 - $i) + 1800));
        push @slots, cancel($a->{id})->json->{slotOpening}{id};
    }
    @slots = reverse @slots;    # earliest first
    is db_count(q{slot_openings WHERE shop_id = ? AND waiting_since IS NOT NULL}, $s3->{id}), 7, 'setup: 7 waiting slots';
    my $joiner = make_customer($s3->{id}, name => 'Joins', phone => '+15559870001');
    my @now = grep { offered_to($_, $joiner) } @slots;
    cmp_ok scalar @now, '>=', 5, 'a customer joining is offered at least 5 of them at once';
    ok !(grep { !offered_to($_, $joiner) } @slots[0 .. 4]), '... the five earliest';
    is db_count(q{slot_openings WHERE shop_id = ? AND waiting_since IS NOT NULL}, $s3->{id}), 0, '... none waits any more';
    sweep();
    ok !(grep { !offered_to($_, $joiner) } @slots), 'the next sweep offers the other two';
}

done_testing();
