# SPDX-License-Identifier: Apache-2.0
# README, Directives: the *File forms. t/promises/20 shows the internal
# secret's and the webhook secret's files are what the endpoints check; here a
# throwaway httpd whose only Twilio auth token and Stripe secret key come from
# SlotRecoveryTwilioAuthTokenFile and SlotRecoveryStripeSecretKeyFile (a
# trailing newline in each) uses them where the README says: the offer SMS goes
# to Twilio with HTTP Basic AccountSid:token, the webhook signature is checked
# with that token, and the PaymentIntent goes to Stripe with Bearer <key>,
# each value being the file's first line. Without the file values nothing
# would be sent: the server has no other token or key. The requests only
# write the work (a pending offer, a pending payment); the twin's worker (off
# here, run by POST /api/jobs/outbox) sends and charges after them.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use MIME::Base64 qw(decode_base64);
use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(sms_request twiml_message payment_of appointment_of_slot);

reset_db(); twilio_reset(); stripe_reset();

# The suite's twin (its database and stand-ins), the secrets then given again
# in their *File forms: the later directive is the one that counts.
my $h = SlotRecovery::Httpd->suite_twin(sweep_interval => 3600, worker_interval => 3600);
my $SECRET = 'e' x 40;
my $KEY = 'sk_test_fromfile70file70';
my %file = (
    secret => $h->write_file('internal-secret', "$SECRET\n"),
    token  => $h->write_file('twilio-token', twilio_auth_token() . "\n"),
    key    => $h->write_file('stripe-key', "$KEY\n"),
);
my $base = $h->url;
$h->{body} .= <<"EOF_CONF";
SlotRecoveryInternalSecretFile $file{secret}
SlotRecoveryTwilioAuthTokenFile $file{token}
SlotRecoveryStripeSecretKeyFile $file{key}
EOF_CONF
$h->write_conf;
$h->start;
my $ua = HTTP::Tiny->new(timeout => 30);

# One pass of the twin's worker (it needs the secret from the file too).
sub outbox {
    my $res = $ua->post("$base/api/jobs/outbox", { headers => { 'x-internal-secret' => $SECRET } });
    is $res->{status}, 200, "$_[0]: POST /api/jobs/outbox 200" or diag "$res->{status} $res->{content}";
    return eval { decode_json($res->{content}) } || {};
}

# The data through the suite's server (same database), the cancel through the throwaway one.
my $shop = make_shop(name => 'File Forms');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my $c1 = make_customer($shop->{id}, name => 'Waiting', stripeCustomerId => 'cus_file70',
    stripePaymentMethodId => 'pm_card_visa');
my $appt = make_appointment($shop->{id}, $cx->{id});
twilio_reset();

my $res = $ua->post("$base/api/appointments/$appt->{id}/cancel", { headers => { 'x-internal-secret' => $SECRET } });
is $res->{status}, 200, 'cancel with the secret from SlotRecoveryInternalSecretFile: 200'
    or diag "$res->{status} $res->{content}";
is scalar(grep { ($_->{form}{To} // '') eq $c1->{phone} } @{ twilio_messages() }), 0,
    '... answered without calling Twilio (the offer is written pending)';
is outbox('the offer')->{offersSent}, 1, "... the twin's worker sent one offer";
my @sent = grep { ($_->{form}{To} // '') eq $c1->{phone} } @{ twilio_messages() };
is scalar @sent, 1, 'the offer SMS went to Twilio once';
is $sent[0] && $sent[0]{status}, 201, '... and was accepted';
my ($basic) = (($sent[0] && $sent[0]{headers}{authorization}) // '') =~ /^Basic (\S+)$/;
is decode_base64($basic // ''), twilio_account_sid() . ':' . twilio_auth_token(),
    "... with HTTP Basic AccountSid:token, the token being SlotRecoveryTwilioAuthTokenFile's first line";
my $offer = db_row(q{SELECT status FROM slot_offers WHERE customer_id = ?}, $c1->{id});
is $offer && $offer->{status}, 'sent', 'the offer is sent';

# YES through the throwaway server: signed with the token over its public URL.
my $req = sms_request($c1->{phone}, 'YES', sign_url => "$base/api/twilio/inbound");
$res = $ua->post("$base$req->{path}", { content => $req->{body},
    headers => { %{ $req->{headers} }, 'Content-Type' => 'application/x-www-form-urlencoded' } });
is $res->{status}, 200, 'YES signed with the token from the file: 200' or diag "$res->{status} $res->{content}";
like twiml_message($res->{content}) // '', qr/^Booked: .* will be charged to your saved card\.$/,
    '... booked, the deposit will be charged';
my ($a) = @{ appointment_of_slot(db_row('SELECT id FROM slot_openings WHERE source_appointment_id = ?',
    $appt->{id})->{id}) };
is scalar(grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() }), 0,
    '... answered without calling Stripe';
is $a && payment_of($a->{id})->{status}, 'pending', '... the payment written pending';
is outbox('the deposit')->{payments}, 1, "... the twin's worker made one deposit";
my @pi = grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() };
is scalar @pi, 1, 'one PaymentIntent asked for';
is $pi[0] && $pi[0]{headers}{authorization}, "Bearer $KEY",
    "... with Bearer <SlotRecoveryStripeSecretKeyFile's first line>";
is $a && payment_of($a->{id})->{status}, 'succeeded', 'the payment succeeded';
is $a && db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'confirmed',
    'the booking is confirmed';

$h->stop;
done_testing();
