# SPDX-License-Identifier: Apache-2.0
# README: SlotRecoveryOfferRetryDelay is the "seconds before the first retry of
# a failed send (SMS or PaymentIntent); doubles each try, at most an hour"; the
# sweep "resends offers whose send failed (backoff SlotRecoveryOfferRetryDelay
# x 2^(attempt-1))". With Twilio answering 503, the offer's next_attempt_at
# after attempt n is measured against the moment the stand-in answered that
# attempt: delay * 2^(n-1) seconds, and exactly 3600 once that is more than an
# hour. The suite's server (delay 30, 3 tries) makes the first attempt; a
# throwaway httpd with SlotRecoveryOfferRetryDelay 500 and 20 tries makes the
# later ones (500, 1000, 2000, then 4000 > 3600), attempts set in the database
# before each of its sweeps for the high counts. Customer notifications
# (texts about a deposit) follow the same rule.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel conf_value);
use SlotRecovery::SideServer ();

reset_db();
twilio_reset();

my $MAIN_DELAY = conf_value('SlotRecoveryOfferRetryDelay', 30);
my $DELAY = 500;
my $side = SlotRecovery::SideServer->start(
    "SlotRecoveryOfferRetryDelay $DELAY\nSlotRecoveryOfferMaxAttempts 20\nSlotRecoveryPaymentMaxAttempts 20\n");

sub expected { my ($base, $n) = @_; my $d = $base * 2 ** ($n - 1); $d > 3600 ? 3600 : $d }

# The offer's row and, for its latest send at the stand-in, next_attempt_at minus when that send was answered.
sub backoff_of {
    my ($offer_id, $phone) = @_;
    my $row = db_row(q{SELECT status, attempts, extract(epoch FROM next_attempt_at)::float8 AS next_at
                         FROM slot_offers WHERE id = ?}, $offer_id);
    my @sends = grep { ($_->{form}{To} // '') eq $phone } @{ twilio_messages() };
    return ($row, $sends[-1] ? $row->{next_at} - $sends[-1]{answered} : undef, scalar @sends);
}

# next_attempt_at is set after the answer (its transaction's now()): at most a second or two later.
sub backoff_ok {
    my ($got, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok(defined $got && $got >= $want - 0.05 && $got < $want + 2, $name)
        or diag sprintf 'next attempt %.3f s after the answer, expected %d', $got // -1, $want;
}

twilio_behave({ failAll => 503 });
my $shop = make_shop(name => 'Backoff Shop');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my $w = make_customer($shop->{id}, name => 'Waiting');
my $r = cancel(make_appointment($shop->{id}, $cx->{id})->{id});
is $r->status, 200, 'cancel while Twilio answers 503' or diag $r->dump;
my $offer = $r->json->{slotOpening}{offers}[0];
ok $offer && $offer->{status} eq 'pending', '... the offer is pending';

my ($row, $gap, $sends) = backoff_of($offer->{id}, $w->{phone});
is $row->{attempts}, 1, 'attempt 1 (the suite server)';
backoff_ok($gap, $MAIN_DELAY, "attempt 1: next try SlotRecoveryOfferRetryDelay ($MAIN_DELAY s) later");

# Later attempts by the throwaway server; from attempt 5 on the attempts before are set in the database.
for my $n (2, 3, 4, 5, 6, 12, 19) {
    db_do(q{UPDATE slot_offers SET attempts = ?, next_attempt_at = now() - interval '1 second' WHERE id = ?},
        $n - 1, $offer->{id});
    my $rep = $side->sweep;
    ($row, $gap, my $now_sends) = backoff_of($offer->{id}, $w->{phone});
    is $now_sends, $sends + 1, "attempt $n: Twilio asked once more";
    $sends = $now_sends;
    is $row->{attempts}, $n, "attempt $n: attempts $n";
    is $row->{status}, 'pending', "attempt $n: still pending (20 tries allowed)";
    my $want = expected($DELAY, $n);
    backoff_ok($gap, $want, "attempt $n: next try ${want} s later" . ($want == 3600 ? ' (the one-hour cap)' : ''));
}

# The last try allowed: the offer fails, no next attempt.
db_do(q{UPDATE slot_offers SET attempts = 19, next_attempt_at = now() - interval '1 second' WHERE id = ?}, $offer->{id});
$side->sweep;
($row) = backoff_of($offer->{id}, $w->{phone});
is $row->{status}, 'failed', 'attempt 20 of 20: the offer failed';

# --- customer notifications: the same backoff --------------------------------------------------------------
{
    db_do(q{INSERT INTO customer_notifications (customer_id, kind, to_number, from_number, body)
            SELECT ?, 'deposit_failed', c.phone, s.sms_from, 'Backoff Shop: test notification'
              FROM customers c JOIN shops s ON s.id = c.shop_id WHERE c.id = ?}, $w->{id}, $w->{id});
    my $nid = db_row('SELECT id FROM customer_notifications WHERE customer_id = ?', $w->{id})->{id};
    for my $n (1, 4, 9) {
        twilio_reset();
        twilio_behave({ failAll => 503 });
        db_do(q{UPDATE customer_notifications SET attempts = ?, next_attempt_at = now() - interval '1 second'
                 WHERE id = ?}, $n - 1, $nid);
        $side->sweep;
        my $n_row = db_row(q{SELECT status, attempts, extract(epoch FROM next_attempt_at)::float8 AS next_at
                               FROM customer_notifications WHERE id = ?}, $nid);
        my ($send) = @{ twilio_messages() };
        is $n_row->{attempts}, $n, "notification attempt $n: attempts $n";
        is $n_row->{status}, 'pending', "notification attempt $n: pending";
        my $want = expected($DELAY, $n);
        backoff_ok($send && $n_row->{next_at} - $send->{answered}, $want, "notification attempt $n: next try $want s later");
    }
}

twilio_behave({});
done_testing();
