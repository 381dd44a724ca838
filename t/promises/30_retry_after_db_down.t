# SPDX-License-Identifier: Apache-2.0
# README, HTTP API: "503 (with `Retry-After`) means PostgreSQL is unreachable:
# retry." Every route that reads the database answers 503 with a numeric
# Retry-After while PostgreSQL is stopped (as t/stripe/50_db_down.t stops it),
# and logs it with the module's prefix; the dashboard's pages too. The routes
# that need no database (the built-in assets) still answer 200.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Dashboard ();

reset_db();
twilio_reset();
stripe_reset();

my $cluster = stoppable_pg_cluster();

# Real ids for every route, and a dashboard form token, made while the database is up.
my $s = scenario(customers => 2);
my $shop = $s->{shop};
my ($c1, $c2) = @{ $s->{customers} };
my $appt = make_appointment($shop->{id}, $c1->{id}, startsAt => iso_in(3 * 86400), endsAt => iso_in(3 * 86400 + 1800));
SlotRecovery::Dashboard::grant($shop->{id}, 'owner1');
my $page = SlotRecovery::Dashboard::page(owner1 => '/app/appointments');
is $page->status, 200, 'setup: the dashboard answers' or diag $page->dump;
my ($csrf) = $page->{html} =~ m{/appointments/$appt->{id}/cancel".*?name="csrf" value="([^"]+)"}s;
ok $csrf, 'setup: a cancel form token';
my $offer = live_offer($s->{slot_id});
ok $offer && $offer->{provider_message_id}, 'setup: a sent offer with a message SID';

my @api = (
    [POST  => '/api/shops', { name => 'Down', timezone => 'UTC', smsFrom => '+15005550001', depositAmount => 0,
                              currency => 'usd' }],
    [PATCH => "/api/shops/$shop->{id}", { name => 'Renamed' }],
    [POST  => "/api/shops/$shop->{id}/users", { username => 'downuser' }],
    [POST  => '/api/customers', { shopId => "$shop->{id}", name => 'Down', phone => '+15557779999', smsOptIn => json_true() }],
    [POST  => '/api/appointments', { shopId => "$shop->{id}", customerId => "$c1->{id}", startsAt => iso_in(5 * 86400),
                                     endsAt => iso_in(5 * 86400 + 1800) }],
    [GET   => "/api/appointments/$appt->{id}"],
    [POST  => "/api/appointments/$appt->{id}/cancel"],
    [GET   => "/api/slot-openings/$s->{slot_id}"],
    [POST  => '/api/jobs/offer-loop', { slotOpeningId => "$s->{slot_id}" }],
    [POST  => '/api/jobs/sweep', {}],
);
my @dash = (
    '/app/appointments', "/app/appointments/$appt->{id}", "/app/slot-openings/$s->{slot_id}",
    '/app/slot-openings.csv',
);

my $stopped = 0;
END { pg_start($cluster) if $stopped }
pg_stop($cluster);
$stopped = 1;

sub unavailable_ok {
    my ($res, $what, $mark) = @_;
    is $res->status, 503, "$what: 503" or diag $res->dump;
    like $res->header('Retry-After') // '', qr/^\d+$/, '... with a numeric Retry-After';
    like error_log_since($mark), qr/mod_slotrecovery: .*503/, '... and a mod_slotrecovery: log line';
}

for my $c (@api) {
    my ($method, $path, $body) = @$c;
    my $mark = error_log_mark();
    unavailable_ok(api($method, $path, $body, timeout => 60), "$method $path", $mark);
}
{
    my $mark = error_log_mark();
    unavailable_ok(sms($c2->{phone}, 'YES'), 'POST /api/twilio/inbound', $mark);

    require SlotRecovery::Scenario;
    $mark = error_log_mark();
    my $r = SlotRecovery::Scenario::status_callback({ MessageSid => $offer->{provider_message_id}, MessageStatus => 'delivered', AccountSid => twilio_account_sid() });
    unavailable_ok($r, 'POST /api/twilio/status', $mark);

    $mark = error_log_mark();
    my $event = stripe_event(type => 'payment_intent.succeeded', pi => 'pi_down_1');
    unavailable_ok(post_stripe_event($event, timeout => 60), 'POST /api/stripe/webhook', $mark);
}
for my $path (@dash) {
    my $mark = error_log_mark();
    unavailable_ok(SlotRecovery::Dashboard::page(owner1 => $path, timeout => 60), "GET $path", $mark);
}
{
    my $mark = error_log_mark();
    my $r = SlotRecovery::Dashboard::post_form(owner1 => "/app/appointments/$appt->{id}/cancel", { csrf => $csrf });
    unavailable_ok($r, "POST /app/appointments/$appt->{id}/cancel", $mark);
}
# No database needed: /app redirects, the built-in stylesheet still comes.
is SlotRecovery::Dashboard::page(owner1 => '/app')->status, 303, '/app redirects without the database: 303';
is SlotRecovery::Dashboard::page(owner1 => '/app/assets/slotrecovery.css')->status, 200,
    'the stylesheet needs no database: 200';

pg_start($cluster);
$stopped = 0;
ok wait_until(sub { eval { db()->ping } }, timeout => 30), 'PostgreSQL is back';
is db_row('SELECT status FROM appointments WHERE id = ?', $appt->{id})->{status}, 'booked',
    'nothing was cancelled meanwhile';

done_testing();
