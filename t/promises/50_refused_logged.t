# SPDX-License-Identifier: Apache-2.0
# README, When something fails: "Refused requests are logged at `warn` with the
# reason"; HTTP API: "Errors are {"error": "..."} with a 4xx ... and a log line".
# One request of each kind of refusal on every endpoint family (internal API,
# Twilio and Stripe webhooks, dashboard, mounts): its status is the README's,
# and t/logs/error_log gets a "mod_slotrecovery: " line at warn for it, naming
# the method and path.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Dashboard ();

reset_db();
twilio_reset();
stripe_reset();

my $s = scenario(customers => 1);
my $shop = $s->{shop};
my $other_shop = make_shop(name => 'Other Shop');
my $other_cust = make_customer($other_shop->{id}, name => 'Elsewhere');
my $other_appt = make_appointment($other_shop->{id}, $other_cust->{id});
SlotRecovery::Dashboard::grant($shop->{id}, 'owner1');
my $mine = make_appointment($shop->{id}, $s->{customers}[0]{id}, startsAt => iso_in(4 * 86400),
    endsAt => iso_in(4 * 86400 + 1800));

sub logged_ok { refusal_logged_ok(@_) }

my $id = $shop->{id};
my %shop_body = (name => 'X', timezone => 'UTC', smsFrom => '+15005550001', depositAmount => 0, currency => 'usd');

# --- internal API -----------------------------------------------------------------------
logged_ok('no x-internal-secret', 401, sub { api(GET => "/api/slot-openings/$s->{slot_id}", undef, no_secret => 1) },
    "/api/slot-openings/$s->{slot_id}");
logged_ok('a wrong x-internal-secret', 401,
    sub { api(GET => "/api/slot-openings/$s->{slot_id}", undef, secret => 'x' x 40) }, "/api/slot-openings/");
logged_ok('an unknown route', 404, sub { api(GET => '/api/nothing-here') }, '/api/nothing-here');
logged_ok('an unknown id', 404, sub { api(GET => '/api/appointments/987654321') }, '/api/appointments/987654321');
my $r = logged_ok('a wrong method', 405, sub { api(DELETE => "/api/shops/$id") }, "/api/shops/$id");
like $r->header('Allow') // '', qr/PATCH/, '... with Allow';
logged_ok('malformed JSON', 400, sub { api(POST => '/api/shops', undef, raw => '{"name":') }, '/api/shops');
logged_ok('a JSON array', 400, sub { api(POST => '/api/shops', undef, raw => '[]') }, '/api/shops');
logged_ok('an invalid field', 400, sub { api(POST => '/api/shops', { %shop_body, timezone => 'Mars/Olympus' }) },
    '/api/shops');
logged_ok('a deposit below the minimum', 400,
    sub { api(POST => '/api/shops', { %shop_body, depositAmount => 10 }) }, '/api/shops');
logged_ok('an unknown id in the body', 404,
    sub { api(POST => '/api/customers', { shopId => '987654321', name => 'N', phone => '+15550001111',
        smsOptIn => json_true() }) }, '/api/customers');
logged_ok('a phone already on the list', 409,
    sub { api(POST => '/api/customers', { shopId => "$id", name => 'Twice', phone => $s->{customers}[0]{phone},
        smsOptIn => json_true() }) }, '/api/customers');
logged_ok('a body over SlotRecoveryMaxBody', 413,
    sub { api(POST => '/api/shops', undef, raw => '{"name":"' . ('a' x 300_000) . '"}') }, '/api/shops');
logged_ok('a user granted another shop in the scope', 409,
    sub { api(POST => "/api/shops/$other_shop->{id}/users", { username => 'owner1' }) },
    "/api/shops/$other_shop->{id}/users");

# --- Twilio webhooks ----------------------------------------------------------------------
logged_ok('Twilio inbound, a wrong signature', 403,
    sub { sms($s->{customers}[0]{phone}, 'YES', signature => 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=') }, '/api/twilio/inbound');
logged_ok('Twilio inbound, no signature', 403,
    sub { sms($s->{customers}[0]{phone}, 'YES', signature => undef) }, '/api/twilio/inbound');
logged_ok('Twilio inbound, signed with another token', 403,
    sub { sms($s->{customers}[0]{phone}, 'YES', token => 'another-token') }, '/api/twilio/inbound');
logged_ok('Twilio inbound, signed but no MessageSid', 400,
    sub { sms($s->{customers}[0]{phone}, 'YES', drop => [qw(MessageSid SmsMessageSid SmsSid)]) },
    '/api/twilio/inbound');
{
    require SlotRecovery::Scenario;
    my %p = (MessageSid => 'SM' . ('0' x 32), MessageStatus => 'delivered');
    logged_ok('Twilio status, a wrong signature', 403,
        sub { SlotRecovery::Scenario::status_callback(\%p, signature => 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=') },
        '/api/twilio/status');
    logged_ok('Twilio status, signed but no MessageStatus', 400,
        sub { SlotRecovery::Scenario::status_callback({ MessageSid => $p{MessageSid} }) }, '/api/twilio/status');
}

# --- Stripe webhook -----------------------------------------------------------------------
my $event = stripe_event(type => 'payment_intent.succeeded', pi => 'pi_refused_1');
logged_ok('Stripe, no Stripe-Signature', 400, sub { post_stripe_event($event, header => undef) },
    '/api/stripe/webhook');
logged_ok('Stripe, a wrong v1', 400, sub { post_stripe_event($event, header => 't=' . time . ',v1=' . ('0' x 64)) },
    '/api/stripe/webhook');
logged_ok('Stripe, signed with another secret', 400, sub { post_stripe_event($event, secret => 'whsec_other') },
    '/api/stripe/webhook');
logged_ok('Stripe, a timestamp past the tolerance', 400,
    sub { post_stripe_event($event, timestamp => time - 3600) }, '/api/stripe/webhook');
logged_ok('Stripe, signed but not JSON', 400, sub { post_stripe_event('not json') }, '/api/stripe/webhook');
is db_count('stripe_events'), 0, 'no refused Stripe delivery was recorded';

# --- dashboard ----------------------------------------------------------------------------
logged_ok('dashboard without an authenticated user', 403,
    sub { SlotRecovery::Dashboard::page(undef, '/noauth/app/appointments') }, '/noauth/app/appointments');
logged_ok('dashboard user without a shop', 403,
    sub { SlotRecovery::Dashboard::page(stranger => '/app/appointments') }, '/app/appointments');
logged_ok("dashboard, another shop's booking", 404,
    sub { SlotRecovery::Dashboard::page(owner1 => "/app/appointments/$other_appt->{id}") },
    "/app/appointments/$other_appt->{id}");
logged_ok('dashboard cancel without a csrf token', 403,
    sub { SlotRecovery::Dashboard::post_form(owner1 => "/app/appointments/$mine->{id}/cancel", {}) },
    "/app/appointments/$mine->{id}/cancel");
logged_ok('dashboard cancel with a forged csrf token', 403,
    sub { SlotRecovery::Dashboard::post_form(owner1 => "/app/appointments/$mine->{id}/cancel",
        { csrf => time . '.' . ('0' x 64) }) }, "/app/appointments/$mine->{id}/cancel");
is db_row('SELECT status FROM appointments WHERE id = ?', $mine->{id})->{status}, 'booked',
    '... the booking was not cancelled';
logged_ok('dashboard, a bad filter', 400,
    sub { SlotRecovery::Dashboard::page(owner1 => '/app/appointments?from=yesterday') }, '/app/appointments');

# --- a mount the module cannot use --------------------------------------------------------
{
    local $Apache::TestRequest::Module = 'sr_root';
    my $base = Apache::TestRequest::module2url('sr_root', { path => '/%5Cevil.example/app' });
    logged_ok('a mount with a backslash', 404,
        sub { SlotRecovery::Dashboard::page(owner1 => $base) }, '/app');
}

done_testing();
