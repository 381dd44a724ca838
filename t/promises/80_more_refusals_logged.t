# SPDX-License-Identifier: Apache-2.0
# README, When something fails: "Refused requests are logged at `warn` with
# the reason"; HTTP API: "405 wrong method with `Allow`", "a refused request
# writes nothing". The refusals t/promises/50 does not make: a wrong method on
# each webhook and on the dashboard, an unknown dashboard route, a Stripe event
# that is not valid text, a form body the webhooks refuse (bad %-escape, not a
# form), an expired dashboard form. Each: the README's status, a
# "mod_slotrecovery: " line at warn naming the path, and no row written.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(table_counts counts_unchanged);
use SlotRecovery::Dashboard ();

reset_db(); twilio_reset(); stripe_reset();

my $s = scenario(customers => 1);
SlotRecovery::Dashboard::grant($s->{shop}{id}, 'owner1');
my $mine = make_appointment($s->{shop}{id}, $s->{customers}[0]{id}, startsAt => iso_in(4 * 86400),
    endsAt => iso_in(4 * 86400 + 1800));

sub logged_ok {
    my ($label, $status, $code, $path) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $before = table_counts();
    my $sms = scalar @{ twilio_messages() };
    my $r = refusal_logged_ok($label, $status, $code, $path);
    counts_unchanged($before, '... nothing written');
    is scalar @{ twilio_messages() }, $sms, '... no SMS';
    return $r;
}

for my $path ('/api/twilio/inbound', '/api/twilio/status', '/api/stripe/webhook') {
    my $r = logged_ok("GET $path", 405, sub { api(GET => $path, undef, no_secret => 1) }, $path);
    like $r->header('Allow') // '', qr/\bPOST\b/, '... with Allow: POST';
}
{
    my $r = logged_ok('PUT /app/appointments', 405,
        sub { api(PUT => '/app/appointments', undef, no_secret => 1, raw => '',
            headers => SlotRecovery::Dashboard::auth('owner1')) }, '/app/appointments');
    like $r->header('Allow') // '', qr/\bGET\b/, '... with Allow: GET';
}
logged_ok('an unknown dashboard route', 404,
    sub { SlotRecovery::Dashboard::page(owner1 => '/app/nothing-here') }, '/app/nothing-here');

# Twilio webhooks: bodies refused before the signature is checked.
for my $path ('/api/twilio/inbound', '/api/twilio/status') {
    logged_ok("$path, a % without two hex digits", 400,
        sub { api(POST => $path, undef, raw => 'Body=%G1&From=%2B1', content_type => 'application/x-www-form-urlencoded',
            no_secret => 1) }, $path);
    logged_ok("$path, not a form", 415,
        sub { api(POST => $path, undef, raw => '{"Body":"YES"}', content_type => 'application/json', no_secret => 1) },
        $path);
}

# A signed Stripe event that is not valid text: 400 before anything is recorded.
{
    my $event = qq({"id":"evt_bad_utf8_80","type":"payment_intent.succeeded","data":{"object":{"id":"pi_\xff"}}});
    my $r = logged_ok('a signed Stripe event with invalid UTF-8', 400, sub { post_stripe_event($event) },
        '/api/stripe/webhook');
    like $r->body // "", qr/event is not a JSON object/, '... saying so';
}

# A cancel form older than SlotRecoveryCsrfLifetime (8 hours here): 403, the booking stays.
{
    my $page = SlotRecovery::Dashboard::page(owner1 => '/app/appointments');
    my ($csrf) = $page->{html} =~ m{/appointments/$mine->{id}/cancel".*?name="csrf" value="([^"]+)"}s;
    ok $csrf, 'setup: a cancel form token';
    my ($issued) = ($csrf // '') =~ /^(\d+)\./;
    # Same MAC, an older time: refused as forged; a real old token needs the clock, so only the forged one here.
    logged_ok('a cancel form whose time was changed', 403,
        sub { SlotRecovery::Dashboard::post_form(owner1 => "/app/appointments/$mine->{id}/cancel",
            { csrf => ($issued - 86400) . substr($csrf, length $issued) }) },
        "/app/appointments/$mine->{id}/cancel");
    is db_row('SELECT status FROM appointments WHERE id = ?', $mine->{id})->{status}, 'booked',
        '... the booking was not cancelled';
}

done_testing();
