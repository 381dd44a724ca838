# SPDX-License-Identifier: Apache-2.0
# A sweep past its batch sizes (README: "up to 500 slots are passed on in one
# transaction ... and due SMS go out 100 at a time"): 650 shops, each with
# one slot opening left without an offer (as a lost trigger leaves it) and
# three waiting customers, made straight in the database.
#   1. Sweeps offer every slot (at most 500 a sweep): each first customer gets
#      exactly one SMS (counted per phone at the Twilio stand-in), every slot
#      has exactly one live offer, none is skipped.
#   2. All 650 offers expire at once; Twilio refuses every fourth shop's second
#      customer (503): one sweep expires the 650, offers each slot to its second
#      customer, sends the others' SMS (7 batches) and leaves those pending.
#   3. Twilio is back, the 163 are due: one sweep sends them (two batches).
#   4. Twilio down (503 for all) when all 650 expire again: the sweep offers
#      every slot to its third customer, asks Twilio for one batch of 100 and,
#      all refused for now, leaves the other 550 for the next sweep (an outage:
#      they would fail too). Twilio back: the next sweeps send each once.
# Each sent SMS is the one its offer records (provider_message_id).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(sweep sent_messages log_mark sweep_counts_ok);

reset_all();

my $N = 650;

my $shops = db()->selectcol_arrayref(q{
    INSERT INTO shops (name, timezone, sms_from, deposit_amount, currency)
    SELECT 'Big Sweep ' || g, 'UTC', '+15005550006', 2000, 'usd' FROM generate_series(1, ?) g RETURNING id},
    undef, $N);
is scalar @$shops, $N, "setup: $N shops";
# Per shop: a canceller (not on the waitlist), then the first and the second waiting customer.
db_do(q{
    INSERT INTO customers (shop_id, name, phone, sms_opt_in, waitlist_joined_at)
    SELECT s.id, k.name || ' ' || s.id, '+1444' || lpad((s.id * 10 + k.n)::text, 7, '0'), k.n > 0,
           now() - make_interval(secs => 100 - k.n)
      FROM shops s CROSS JOIN (VALUES (0, 'Canceller'), (1, 'First'), (2, 'Second'), (3, 'Third')) k(n, name)
     ORDER BY s.id, k.n});
db_do(q{
    WITH a AS (
        INSERT INTO appointments (shop_id, customer_id, starts_at, ends_at, status, cancelled_at)
        SELECT c.shop_id, c.id, now() + make_interval(secs => 2 * 86400 + 60 * c.shop_id),
               now() + make_interval(secs => 2 * 86400 + 60 * c.shop_id + 1800), 'cancelled', now()
          FROM customers c WHERE c.name LIKE 'Canceller %' RETURNING id, shop_id, starts_at, ends_at)
    INSERT INTO slot_openings (shop_id, source_appointment_id, starts_at, ends_at)
    SELECT shop_id, id, starts_at, ends_at FROM a});
is db_count(q{slot_openings WHERE status = 'open'}), $N, "setup: $N open slot openings without an offer";

my %first  = map { $_->[0] => $_->[1] } @{ db()->selectall_arrayref(q{SELECT shop_id, phone FROM customers WHERE name LIKE 'First %'}) };
my %third  = map { $_->[0] => $_->[1] } @{ db()->selectall_arrayref(q{SELECT shop_id, phone FROM customers WHERE name LIKE 'Third %'}) };
my %second = map { $_->[0] => $_->[1] } @{ db()->selectall_arrayref(q{SELECT shop_id, phone FROM customers WHERE name LIKE 'Second %'}) };

# SMS sends (any answer) per phone, and the accepted ones' sids.
sub sends_by_phone {
    my %n;
    for my $m (@{ twilio_messages() }) {
        push @{ $n{ $m->{form}{To} }{all} }, $m;
        push @{ $n{ $m->{form}{To} }{ok} }, $m->{response}{sid} if $m->{status} == 201;
    }
    return \%n;
}

# Every slot's offers, "customer phone:status" in order.
sub offers_by_shop {
    my %o;
    for my $r (@{ db_rows(q{SELECT o.shop_id, c.phone, f.status, f.provider_message_id
                              FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
                              JOIN customers c ON c.id = f.customer_id ORDER BY f.id}) }) {
        push @{ $o{ $r->{shop_id} } }, $r;
    }
    return \%o;
}

# Each sent offer's SMS is exactly one accepted send at the stand-in.
sub sids_match {
    my ($sends, $offers, $name) = @_;
    my %sid_of = map { $_->{provider_message_id} => 1 } grep { $_->{provider_message_id} } map { @$_ } values %$offers;
    my %accepted = map { $_ => 1 } map { @{ $_->{ok} || [] } } values %$sends;
    is_deeply [ sort keys %accepted ], [ sort keys %sid_of ], $name;
}

# --- 1. more than 500 slots without an offer -----------------------------------------------------------------
my $t0 = Time::HiRes::time();
my $sweeps = 0;
wait_until(sub { $sweeps++; sweep(); !db_count(q{slot_openings o WHERE NOT EXISTS
        (SELECT 1 FROM slot_offers f WHERE f.slot_opening_id = o.id)}) }, timeout => 60, interval => 0.01);
my $took = Time::HiRes::time() - $t0;
note sprintf '%d slots offered in %d sweeps, %.1f s', $N, $sweeps, $took;
cmp_ok $sweeps, '<=', 2, "every slot is offered within two sweeps ($sweeps: at most 500 slots a sweep)";
my $offers = offers_by_shop();
is scalar(grep { @{ $offers->{$_} || [] } == 1 && $offers->{$_}[0]{phone} eq $first{$_} && $offers->{$_}[0]{status} eq 'sent' }
    @$shops), $N, "each of the $N slots has exactly one offer, sent to its first customer";
my $sends = sends_by_phone();
is scalar(grep { @{ $sends->{ $first{$_} }{all} || [] } == 1 } @$shops), $N, "each first customer got exactly one SMS";
is scalar @{ twilio_messages() }, $N, "$N sends in all";
sids_match($sends, $offers, "each offer's message sid is the one sent");

# --- 2. all expire at once; every fourth shop's second customer unreachable ----------------------------------------
my @failing = map { $second{ $shops->[$_] } } grep { $_ % 4 == 0 } 0 .. $#$shops;
my $FAILING = @failing;
twilio_behave({ failTo => { map { $_ => 503 } @failing } });
db_do(q{UPDATE slot_offers SET expires_at = now() - interval '1 second' WHERE status = 'sent'});
$t0 = Time::HiRes::time();
my $mark = log_mark();
my $rep = sweep();
note sprintf 'expiry sweep: %.1f s, %s', Time::HiRes::time() - $t0, encode_json($rep);
sweep_counts_ok($rep, { offersExpired => $N, slotsAdvanced => $N, offersSent => $N - $FAILING, offersFailed => 0,
    slotsExpired => 0 }, $mark, "one sweep expired the $N offers, passed each slot on, sent " . ($N - $FAILING) . ' SMS');
$offers = offers_by_shop();
is scalar(grep { my $o = $offers->{$_}; @$o == 2 && $o->[0]{status} eq 'expired' && $o->[1]{phone} eq $second{$_} } @$shops),
    $N, 'each slot: the first offer expired, one new offer to its second customer';
my %failing = map { $_ => 1 } @failing;
is scalar(grep { $offers->{$_}[1]{status} eq ($failing{ $second{$_} } ? 'pending' : 'sent') } @$shops), $N,
    "... pending for the $FAILING Twilio refused, sent for the others";
$sends = sends_by_phone();
is scalar(grep { @{ $sends->{ $second{$_} }{all} || [] } == 1 } @$shops), $N, '... each second customer asked once';
is scalar(grep { @{ $sends->{ $first{$_} }{all} || [] } == 1 } @$shops), $N, '... the first customers nothing more';

# --- 3. more than 100 due retries ------------------------------------------------------------------------------------
twilio_behave({});
db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'});
$t0 = Time::HiRes::time();
$mark = log_mark();
$rep = sweep();
note sprintf 'retry sweep: %.1f s, %s', Time::HiRes::time() - $t0, encode_json($rep);
sweep_counts_ok($rep, { offersExpired => 0, slotsAdvanced => 0, offersSent => $FAILING, offersFailed => 0,
    slotsExpired => 0 }, $mark, "one sweep sent the $FAILING due retries");
$offers = offers_by_shop();
is scalar(grep { my $o = $offers->{$_}; @$o == 2 && $o->[1]{status} eq 'sent' } @$shops), $N, 'every slot has its offer sent';
$sends = sends_by_phone();
is scalar(grep { @{ $sends->{ $second{$_} }{ok} || [] } == 1 } @$shops), $N, 'each second customer got exactly one SMS';
is scalar(grep { @{ $sends->{$_}{all} } == 2 } @failing), $FAILING, "... the $FAILING refused ones after two sends (503, then 201)";
is scalar @{ sent_messages() }, 2 * $N, '2 x ' . $N . ' SMS accepted in all';
sids_match($sends, $offers, "each offer's message sid is the one sent");

# --- 4. Twilio down for a whole batch: the rest wait for the next sweep -------------------------------------------
twilio_reset();
twilio_behave({ failAll => 503 });
db_do(q{UPDATE slot_offers SET expires_at = now() - interval '1 second' WHERE status = 'sent'});
$rep = sweep();
note 'outage sweep: ' . encode_json($rep);
is $rep->{slotsAdvanced}, $N, "Twilio down: the sweep still passes the $N slots on" or diag explain $rep;
is scalar @{ twilio_messages() }, 100, '... asks Twilio for one batch of 100, all refused, and stops';
is db_count(q{slot_offers WHERE status = 'pending' AND attempts = 1}), 100, '... those 100 tried once';
is db_count(q{slot_offers WHERE status = 'pending' AND attempts = 0}), $N - 100, '... the others not tried yet';
twilio_reset();
ok wait_until(sub {
        db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'});
        sweep();
        !db_count(q{slot_offers WHERE status = 'pending'}) }, timeout => 60, interval => 0.01),
    'Twilio back: the next sweeps send them all';
$offers = offers_by_shop();
is scalar(grep { my $o = $offers->{$_}; @$o == 3 && $o->[2]{phone} eq $third{$_} && $o->[2]{status} eq 'sent' } @$shops),
    $N, 'each slot: one sent offer to its third customer';
$sends = sends_by_phone();
is scalar(grep { @{ $sends->{ $third{$_} }{all} || [] } == 1 } @$shops), $N, 'each third customer got exactly one SMS';
is scalar @{ twilio_messages() }, $N, "... $N sends in all";
is db_count(q{slot_offers WHERE status IN ('pending', 'sent')}), $N, "$N live offers, one per slot";

done_testing();
