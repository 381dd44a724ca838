# SPDX-License-Identifier: Apache-2.0
# README, Directives: a restricted key (rk_...) "needs PaymentIntents and
# Refunds: Write (without them Stripe answers 403: handled as a wrong key)";
# Deposits: "A 401 or 403 gives up at once: the key is wrong or lacks
# permission, logged at `error`, flagged "fix SlotRecoveryStripeSecretKey"",
# and giving up releases the booking and passes the slot on. A throwaway httpd
# whose key is an rk_ key the Stripe stand-in allows only refunds: a YES there
# is answered at once (booked, the deposit will be charged); its worker (off
# here, run by POST /api/jobs/outbox) asks Stripe once, is answered 403, gives
# up at once and tells the customer by a text.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(sms_request twiml_message payment_of appointment_of_slot offer_sms_to sms_to);

reset_db(); twilio_reset(); stripe_reset();

my $SECRET = 'r' x 40;
my $KEY = 'rk_test_restricted90only';
# The suite's twin (its database and stand-ins) with a secret and a Stripe key of its own.
my $h = SlotRecovery::Httpd->suite_twin(sweep_interval => 3600, worker_interval => 3600,
    body => "SlotRecoveryInternalSecret $SECRET\nSlotRecoveryStripeSecretKey $KEY\n")->start;
my $base = $h->url;
my $ua = HTTP::Tiny->new(timeout => 30);

# One pass of the twin's worker.
sub outbox {
    my $res = $ua->post("$base/api/jobs/outbox", { headers => { 'x-internal-secret' => $SECRET } });
    is $res->{status}, 200, "$_[0]: POST /api/jobs/outbox 200" or diag "$res->{status} $res->{content}";
    return eval { decode_json($res->{content}) } || {};
}

my $shop = make_shop(name => 'Restricted Key');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my @c = map { make_customer($shop->{id}, name => "W$_", stripeCustomerId => "cus_r90_$_",
    stripePaymentMethodId => 'pm_card_visa') } 1 .. 2;
my $appt = make_appointment($shop->{id}, $cx->{id});
twilio_reset();
stripe_behave({ restrictedPermissions => ['rak_refund_write'] });

my $res = $ua->post("$base/api/appointments/$appt->{id}/cancel", { headers => { 'x-internal-secret' => $SECRET } });
is $res->{status}, 200, 'cancel through the server with the restricted key: 200' or diag "$res->{status} $res->{content}";
my $slot_id = db_row('SELECT id FROM slot_openings WHERE source_appointment_id = ?', $appt->{id})->{id};
outbox('the offer');
is scalar @{ offer_sms_to($c[0]{phone}) }, 1, 'W1 is offered the slot';

my $mark = $h->log_size;
my $req = sms_request($c[0]{phone}, 'YES', sign_url => "$base/api/twilio/inbound");
$res = $ua->post("$base$req->{path}", { content => $req->{body},
    headers => { %{ $req->{headers} }, 'Content-Type' => 'application/x-www-form-urlencoded' } });
is $res->{status}, 200, 'YES: 200' or diag "$res->{status} $res->{content}";
my $reply = twiml_message($res->{content}) // '';
like $reply, qr/^Booked: .* will be charged to your saved card\.$/, '... booked, the deposit will be charged'
    or diag $reply;
is scalar(grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() }), 0,
    '... answered without calling Stripe';
my $pass = outbox('the deposit');
is $pass->{payments}, 1, "... the twin's worker tried one deposit";

my @pi = grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() };
is scalar @pi, 1, 'Stripe was asked once';
is $pi[0] && $pi[0]{headers}{authorization}, "Bearer $KEY", '... with the restricted key';
is $pi[0] && $pi[0]{status}, 403, '... and answered 403 (no PaymentIntent write permission)';

my ($a) = @{ appointment_of_slot($slot_id) };
my $p = $a && payment_of($a->{id});
is $p && $p->{attempts}, 1, 'given up after that one try';
is $p && $p->{status}, 'failed', '... the payment failed';
like $p && $p->{flagged_reason} // '', qr/SlotRecoveryStripeSecretKey/, '... flagged: fix SlotRecoveryStripeSecretKey';
is $a && db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled',
    'the booking is released';
my $o2 = db_row('SELECT status FROM slot_offers WHERE slot_opening_id = ? AND customer_id = ?', $slot_id, $c[1]{id});
is $o2 && $o2->{status}, 'sent', 'the slot went on to W2 (in the same pass)';
my @told = grep { ($_->{form}{Body} // '') !~ /Reply YES/ } @{ sms_to($c[0]{phone}) };
is scalar @told, 1, 'W1 got one text';
like $told[0] && $told[0]{form}{Body}, qr/^Restricted Key: we could not take the deposit, so your .* booking is released\. You have not been charged\.$/,
    '... that the deposit could not be taken, the booking is released, nothing charged';
my $log = '';
my $line = qr/\[slotrecovery:error\][^\n]*mod_slotrecovery: payment \d+: [^\n]*403/;
wait_until(sub { ($log = $h->log_since($mark)) =~ $line }, timeout => 5);
like $log, $line, 'an error-level log line with the 403' or diag $log;

stripe_behave({});
$h->stop;
done_testing();
