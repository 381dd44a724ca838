# SPDX-License-Identifier: Apache-2.0
# The shipped conf/slotrecovery.conf, Included as it is in a throwaway httpd
# (with only the settings an administrator must fill in added after it):
# the internal API answers loopback clients only (127.0.0.1, ::1), the three
# webhooks stay reachable from anywhere. The other client is 127.0.0.2: all of
# 127/8 is loopback on Linux, but `Require ip 127.0.0.1` matches only that
# one address, so it stands for the internet here.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Request ();
use LWP::UserAgent ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(sms_request twiml_message stripe_event);
use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();

my $top = SlotRecovery::TestEnv::top_dir();
my $shipped = "$top/conf/slotrecovery.conf";
my $port = SlotRecovery::Httpd::free_port();
my $v6 = SlotRecovery::Httpd::have_ipv6_loopback();
my $base = "http://127.0.0.1:$port";

reset_db();
twilio_reset();

my %env = map { $_ => SlotRecovery::TestEnv::get($_) } keys %SlotRecovery::TestEnv::DEFAULTS;
my $h = SlotRecovery::Httpd->new(
    listen => [ "127.0.0.1:$port", ($v6 ? "[::1]:$port" : ()) ],
    body   => <<"EOF");
Include $shipped

# What an administrator fills in; later values win over the shipped ones.
DBDParams "host=$env{SR_PG_HOST} port=$env{SR_PG_PORT} dbname=$env{SR_PG_DB} user=$env{SR_PG_USER}"
SlotRecoveryInternalSecret $env{SR_INTERNAL_SECRET}
SlotRecoveryPublicBaseUrl $base
SlotRecoveryTwilioAccountSid $env{SR_TWILIO_ACCOUNT_SID}
SlotRecoveryTwilioAuthToken $env{SR_TWILIO_AUTH_TOKEN}
SlotRecoveryTwilioApiBase http://127.0.0.1:$env{SR_TWILIO_PORT}
SlotRecoveryStripeSecretKey $env{SR_STRIPE_SECRET_KEY}
SlotRecoveryStripeWebhookSecret $env{SR_STRIPE_WEBHOOK_SECRET}
SlotRecoveryStripeApiBase http://127.0.0.1:$env{SR_STRIPE_PORT}
SlotRecoverySweepInterval 3600
LogLevel info authz_core:debug
EOF
my ($ok, $out) = $h->configtest;
ok $ok, 'the shipped conf passes configtest' or diag $out;
$h->start;

my %ua = (
    local  => LWP::UserAgent->new(timeout => 30, local_address => '127.0.0.1'),
    remote => LWP::UserAgent->new(timeout => 30, local_address => '127.0.0.2'),
);

sub req {
    my ($who, $method, $path, %o) = @_;
    my @headers = %{ $o{headers} || {} };
    push @headers, 'X-Internal-Secret' => $env{SR_INTERNAL_SECRET} unless $o{no_secret};
    my $host = $who eq 'v6' ? "http://[::1]:$port" : $base;
    my $ua = $who eq 'v6' ? LWP::UserAgent->new(timeout => 30) : $ua{$who};
    my $body = $o{body};
    if (ref $body) {
        $body = encode_json($body);
        push @headers, 'Content-Type' => 'application/json';
    }
    my $req = HTTP::Request->new($method, "$host$path", \@headers, $body);
    $req->header('Content-Length' => length($body // ''));
    return $ua->request($req);
}

# httpd's own refusal (mod_authz_core), not one of the module's JSON errors.
sub denied_by_httpd {
    my ($res, $mark, $label) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is $res->code, 403, "$label: 403" or diag $res->as_string;
    unlike $res->header('Content-Type') // '', qr{json}, '... httpd\'s Forbidden page, not the module\'s';
    my $log = $h->log_since($mark);
    like $log, qr{authorization result of Require ip 127\.0\.0\.1 ::1: denied}, '... by the shipped Require ip';
    like $log, qr{AH01630: client denied by server configuration}, '... AH01630 in the error log';
}

# --- from loopback the API works ---------------------------------------------------------
my $res = req(local => POST => '/api/shops', body => { name => 'Shipped Conf Salon', timezone => 'Europe/Berlin',
    smsFrom => '+15005550006', depositAmount => 0, currency => 'eur' });
is $res->code, 201, 'POST /api/shops from 127.0.0.1: 201' or diag $res->as_string;
my $shop = eval { decode_json($res->content) } || {};
is db_count('shops'), 1, '... stored';
$res = req(local => POST => '/api/customers', body => { shopId => $shop->{id}, name => 'Remote Rita',
    phone => '+15557770099', smsOptIn => json_true() });
is $res->code, 201, 'POST /api/customers from 127.0.0.1: 201' or diag $res->as_string;
SKIP: {
    skip 'no ::1 on this machine', 2 unless $v6;
    $res = req(v6 => GET => "/api/appointments/987654");
    is $res->code, 404, 'GET /api/appointments/{unknown} from ::1: the module\'s 404' or diag $res->as_string;
    like $res->header('Content-Type') // '', qr{^application/json}, '... JSON';
}
$res = req(local => GET => '/api/appointments/987654', no_secret => 1);
is $res->code, 401, 'from 127.0.0.1 the secret is still needed: 401' or diag $res->as_string;

# --- from anywhere else the internal API is closed -----------------------------------------
for my $case (
    [ POST => '/api/shops', { name => 'Intruder', timezone => 'UTC', smsFrom => '+15005550001', depositAmount => 0,
        currency => 'usd' } ],
    [ GET   => "/api/appointments/1" ],
    [ PATCH => "/api/shops/$shop->{id}", { name => 'Taken over' } ],
    [ POST  => "/api/shops/$shop->{id}/users", { username => 'intruder' } ],
    [ POST  => '/api/jobs/sweep', {} ],
    [ GET   => '/api/no-such-route' ],
    [ GET   => '/api' ],
    [ GET   => '/api/twilio/inbound/../../shops' ],
    [ POST  => '/api/twilio' ],
    [ POST  => '/api/twilio/inbound-not' ],
) {
    my ($method, $path, $body) = @$case;
    my $mark = $h->log_size;
    denied_by_httpd(req(remote => $method, $path, body => $body), $mark,
        "$method $path from 127.0.0.2 (with the right secret)");
}
is db_count('shops'), 1, 'no shop created from 127.0.0.2';
is db_row('SELECT name FROM shops WHERE id = ?', $shop->{id})->{name}, 'Shipped Conf Salon', '... none changed';
is db_count('shop_users'), 0, '... no dashboard user granted';

# --- the webhooks answer everyone ----------------------------------------------------------
{
    my $mark = $h->log_size;
    my $sms = sms_request('+15557770099', 'HELP', sign_url => "$base/api/twilio/inbound");
    $res = req(remote => POST => '/api/twilio/inbound', no_secret => 1, body => $sms->{body},
        headers => { %{ $sms->{headers} }, 'Content-Type' => 'application/x-www-form-urlencoded' });
    is $res->code, 200, 'a signed Twilio inbound SMS from 127.0.0.2: 200' or diag $res->as_string;
    like twiml_message($res->content) // '', qr/Shipped Conf Salon/, '... the help text naming the shop';

    my %status = (MessageSid => 'SM' . ('0' x 32), MessageStatus => 'delivered', AccountSid => $env{SR_TWILIO_ACCOUNT_SID});
    my $form = join '&', map { "$_=$status{$_}" } sort keys %status;
    $res = req(remote => POST => '/api/twilio/status', no_secret => 1, body => $form,
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded',
                     'X-Twilio-Signature' => twilio_signature("$base/api/twilio/status", \%status) });
    is $res->code, 204, 'a signed Twilio status callback from 127.0.0.2: 204' or diag $res->as_string;

    $res = req(remote => POST => '/api/twilio/status/', no_secret => 1, body => $form,
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded',
                     'X-Twilio-Signature' => 'bm90IGEgc2lnbmF0dXJl' });
    is $res->code, 403, '... with a trailing slash and a bad signature: the module\'s 403' or diag $res->as_string;
    like $res->header('Content-Type') // '', qr{json}, '... (its JSON error, past httpd\'s authorization)';

    my $event = stripe_event(type => 'customer.created', object => { id => 'cus_x', object => 'customer' });
    $res = req(remote => POST => '/api/stripe/webhook', no_secret => 1, body => $event,
        headers => { 'Content-Type' => 'application/json', 'Stripe-Signature' => stripe_signature($event) });
    is $res->code, 200, 'a signed Stripe event from 127.0.0.2: 200' or diag $res->as_string;
    like $res->content, qr/"received"\s*:\s*true/, '... received';

    unlike $h->log_since($mark), qr/AH01630/, 'no webhook was denied by httpd';
}

# --- the dashboard is not tied to loopback (it has its own authentication) ------------------
{
    my $mark = $h->log_size;
    $res = req(remote => GET => '/app/appointments', no_secret => 1);
    is $res->code, 403, '/app from 127.0.0.2 without a user: the module\'s 403 (no authn configured)';
    unlike $h->log_since($mark), qr/AH01630/, '... not httpd\'s loopback refusal';
}

$h->stop;
done_testing();
