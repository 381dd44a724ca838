# SPDX-License-Identifier: Apache-2.0
# The module mounted under a prefix (<Location /mounted>): /mounted/api/...
# answers exactly like /api/..., the offers' StatusCallback carries the
# prefix, and the status callback is checked against the mounted URL.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $P = '/mounted';
my %M = (prefix => $P);

# --- the JSON API -----------------------------------------------------------------------
my $r = api(POST => '/api/shops', { name => 'Mounted Salon', timezone => 'Europe/Berlin', smsFrom => '+4915112345678',
    depositAmount => 1500, currency => 'EUR', offerTtlSeconds => 1200 }, %M);
is $r->status, 201, 'POST /mounted/api/shops: 201' or diag $r->dump;
my $shop = $r->json;
is $shop->{currency}, 'eur', '... the same view (currency lower case)';
is $shop->{offerTtlSeconds}, 1200, '... offerTtlSeconds';
is db_count('shops'), 1, '... stored';

$r = api(PATCH => "/api/shops/$shop->{id}", { name => 'Mounted Salon II' }, %M);
is $r->status, 200, 'PATCH /mounted/api/shops/{id}: 200' or diag $r->dump;
is db_row('SELECT name FROM shops WHERE id = ?', $shop->{id})->{name}, 'Mounted Salon II', '... stored';

my @c;
for my $i (1 .. 2) {
    $r = api(POST => '/api/customers', { shopId => $shop->{id}, name => "M$i", phone => "+4915100000$i$i",
        smsOptIn => json_true() }, %M);
    is $r->status, 201, "POST /mounted/api/customers ($i): 201" or diag $r->dump;
    push @c, $r->json;
}
$r = api(POST => '/api/customers', { shopId => $shop->{id}, name => 'Dup', phone => '+491510000011',
    smsOptIn => json_true() }, %M);
is $r->status, 409, 'the same phone again under /mounted: 409' or diag $r->dump;
is db_count('customers WHERE phone = ?', '+491510000011'), 1, '... and writes no second customer';

my $starts = iso_in(4 * 86400);
$r = api(POST => '/api/appointments', { shopId => $shop->{id}, customerId => $c[0]{id},
    startsAt => $starts, endsAt => iso_in(4 * 86400 + 3600) }, %M);
is $r->status, 201, 'POST /mounted/api/appointments: 201' or diag $r->dump;
my $appt = $r->json;
is $appt->{status}, 'booked', '... booked';
is $appt->{customer}{id}, $c[0]{id}, '... customer nested';

$r = api(GET => "/api/appointments/$appt->{id}", undef, %M);
is $r->status, 200, 'GET /mounted/api/appointments/{id}: 200' or diag $r->dump;
is_deeply $r->json, $appt, '... the same view';
my $plain = api(GET => "/api/appointments/$appt->{id}");
is_deeply $plain->json, $r->json, '... as /api/appointments/{id} answers it';

# --- cancel: the slot, the offer, the callback URL --------------------------------------------
$r = api(POST => "/api/appointments/$appt->{id}/cancel", undef, %M);
is $r->status, 200, 'POST /mounted/api/appointments/{id}/cancel: 200' or diag $r->dump;
my $slot = $r->json->{slotOpening};
is $r->json->{appointment}{status}, 'cancelled', '... cancelled';
is $slot && $slot->{status}, 'open', '... a slot opening';
is scalar @{ $slot->{offers} || [] }, 1, '... with its first offer';
is $slot->{offers}[0]{customerId}, $c[1]{id}, '... to the other customer';

my $msgs = sent_messages();
is scalar @$msgs, 1, 'one SMS';
is $msgs->[0]{form}{To}, $c[1]{phone}, '... to that customer';
is $msgs->[0]{form}{StatusCallback}, public_base_url() . '/mounted/api/twilio/status',
    '... StatusCallback is the public URL with the mount prefix';

$r = api(GET => "/api/slot-openings/$slot->{id}", undef, %M);
is $r->status, 200, 'GET /mounted/api/slot-openings/{id}: 200' or diag $r->dump;
is $r->json->{id}, $slot->{id}, '... the slot opening';

$r = api(POST => '/api/jobs/offer-loop', { slotOpeningId => $slot->{id} }, %M);
is $r->status, 200, 'POST /mounted/api/jobs/offer-loop: 200' or diag $r->dump;
is $r->json->{action}, 'noop', '... noop (a live offer)';

$r = api(POST => '/api/jobs/sweep', undef, %M);
is $r->status, 200, 'POST /mounted/api/jobs/sweep: 200' or diag $r->dump;
is_deeply [ sort keys %{ $r->json || {} } ], [ sort qw(offersExpired offersSent offersFailed slotsAdvanced slotsExpired) ],
    '... the sweep report';

# --- the status callback under the prefix ------------------------------------------------------------
{
    # The cancel answered the offer pending; the worker sent it after.
    my $sid = db_row('SELECT provider_message_id FROM slot_offers WHERE id = ?', $slot->{offers}[0]{id})
        ->{provider_message_id};
    my %p = (MessageSid => $sid, MessageStatus => 'delivered', AccountSid => twilio_account_sid());
    my $before = table_counts();
    $r = status_callback(\%p, prefix => $P, sign_url => status_callback_url());
    is $r->status, 403, 'a callback to /mounted signed for the unmounted URL: 403' or diag $r->dump;
    counts_unchanged($before, '... nothing changed');

    $r = status_callback(\%p, prefix => $P);
    is $r->status, 204, 'a callback to /mounted signed for the mounted URL: 204' or diag $r->dump;
    is db_row('SELECT delivery_status FROM slot_offers WHERE provider_message_id = ?', $sid)->{delivery_status},
        'delivered', '... recorded';
}

# --- a later offer, sent by a sweep that came in without the prefix, still calls back under it -------------
{
    my $third = api(POST => '/api/customers', { shopId => $shop->{id}, name => 'M3', phone => '+491510000033',
        smsOptIn => json_true() }, %M)->json;
    my $live = live_offer($slot->{id});
    expire_offer($live->{id});
    my $rep = sweep();    # at /api/jobs/sweep: no prefix in this request
    my $next = live_offer($slot->{id});
    is $next && $next->{customer_id}, $third->{id}, "the second customer's offer expired: the third is offered";
    my $last = sent_messages()->[-1];
    is $last->{form}{To}, '+491510000033', '... by SMS';
    is $last->{form}{StatusCallback}, public_base_url() . '/mounted/api/twilio/status',
        '... whose StatusCallback keeps the prefix of the cancellation';
}

# --- refusals are the same under the prefix -------------------------------------------------------------
{
    my $before = table_counts();
    $r = api(POST => '/api/shops', { name => 'No Secret' }, %M, secret => undef);
    is $r->status, 401, 'POST /mounted/api/shops without the secret: 401' or diag $r->dump;
    ok $r->json && $r->json->{error}, '... JSON error';
    $r = api(POST => '/api/shops', { name => 'x', timezone => 'UTC', smsFrom => '+15550000000',
        depositAmount => '20', currency => 'usd' }, %M);
    is $r->status, 400, 'POST /mounted/api/shops with depositAmount "20": 400' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/depositAmount/, '... names the member';
    $r = api(POST => '/api/shops', undef, %M, raw => '{"name":');
    is $r->status, 400, 'malformed JSON under /mounted: 400';
    $r = api(GET => '/api/appointments/abc', undef, %M);
    is $r->status, 404, 'GET /mounted/api/appointments/abc: 404';
    $r = api(GET => '/api/appointments/999999', undef, %M);
    is $r->status, 404, 'GET /mounted/api/appointments/999999: 404';
    $r = api(GET => '/api/nowhere', undef, %M);
    is $r->status, 404, 'GET /mounted/api/nowhere: 404';
    ok $r->json && $r->json->{error}, '... JSON error';
    $r = api(GET => '/nothing', undef, %M);
    is $r->status, 404, 'GET /mounted/nothing (no /api): 404';
    $r = api(GET => '/api/shops', undef, %M);
    is $r->status, 405, 'GET /mounted/api/shops: 405';
    is $r->header('Allow'), 'POST', '... Allow: POST';
    counts_unchanged($before, 'nothing written by any of them');
}

done_testing();
