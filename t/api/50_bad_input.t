# SPDX-License-Identifier: Apache-2.0
# Bad input of every kind: each refusal is a 4xx with a JSON {"error": ...}
# and writes nothing (every table's rows compared before and after).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $shop  = make_shop(name => 'Bad Input Shop');
my $cust  = make_customer($shop->{id}, name => 'Valid', phone => '+15554440001');
my $other = make_customer($shop->{id}, name => 'Other', phone => '+15554440002');
my $appt  = make_appointment($shop->{id}, $cust->{id});
my $slot  = cancel(make_appointment($shop->{id}, $other->{id}, startsAt => iso_in(5 * 86400),
    endsAt => iso_in(5 * 86400 + 1800))->{id})->json->{slotOpening};
twilio_reset();

my %valid = (
    '/api/shops' => { name => 'New', timezone => 'Europe/Paris', smsFrom => '+33612345678',
                      depositAmount => 1000, currency => 'eur' },
    '/api/customers' => { shopId => $shop->{id}, name => 'New', phone => '+15554449999', smsOptIn => json_true() },
    '/api/appointments' => { shopId => $shop->{id}, customerId => $cust->{id},
                             startsAt => iso_in(86400 * 7), endsAt => iso_in(86400 * 7 + 3600) },
);

# refused($method, $path, $body_or_undef, \%opts, $status, $error_re, $label)
sub refused {
    my ($method, $path, $body, $opts, $status, $re, $label) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $before = table_counts();
    my $r = api($method, $path, $body, %{ $opts || {} });
    is $r->status, $status, "$label: $status" or diag $r->dump;
    like $r->content_type // '', qr{^application/json}, "$label: JSON";
    ok ref $r->json eq 'HASH' && defined $r->json->{error} && !ref $r->json->{error}
        && length $r->json->{error}, "$label: {\"error\": \"...\"}";
    like $r->json && $r->json->{error} // '', $re, "$label: the error says why" if $re;
    counts_unchanged($before, "$label: nothing written");
    is scalar @{ twilio_messages() }, 0, "$label: no SMS";
    return $r;
}

# --- 1. malformed JSON ------------------------------------------------------------------------
for my $path (sort keys %valid) {
    for my $case (
        [ 'truncated',         '{"name": "x", ' ],
        [ 'unquoted keys',     '{name: "x"}' ],
        [ 'trailing comma',    '{"name": "x",}' ],
        [ 'single quotes',     q({'name': 'x'}) ],
        [ 'two documents',     '{} {}' ],
        [ 'invalid UTF-8',     "{\"name\": \"\xff\xfe\"}" ],
        [ 'duplicate keys',    '{"name": "a", "name": "b"}' ],
    ) {
        my ($what, $raw) = @$case;
        refused(POST => $path, undef, { raw => $raw }, 400, qr/JSON/i, "POST $path, malformed JSON ($what)");
    }
    refused(POST => $path, undef, { raw => '' }, 400, qr/JSON|body/i, "POST $path, empty body");
}
refused(PATCH => "/api/shops/$shop->{id}", undef, { raw => '{"name":' }, 400, qr/JSON/i,
    'PATCH /api/shops/{id}, malformed JSON');
refused(POST => '/api/jobs/offer-loop', undef, { raw => '{"slotOpeningId":' }, 400, qr/JSON/i,
    'POST /api/jobs/offer-loop, malformed JSON');

# --- 2. a body that is not an object ---------------------------------------------------------------
for my $path (sort keys %valid) {
    for my $raw ('[]', '[{"name": "x"}]', '"a string"', '42', 'null', 'true') {
        refused(POST => $path, undef, { raw => $raw }, 400, qr/object|JSON/i, "POST $path, body $raw");
    }
}
refused(PATCH => "/api/shops/$shop->{id}", undef, { raw => '[]' }, 400, qr/object/i,
    'PATCH /api/shops/{id}, body []');
refused(POST => '/api/jobs/offer-loop', undef, { raw => '"1"' }, 400, qr/object|JSON/i,
    'POST /api/jobs/offer-loop, body "1"');

# --- 3. missing members --------------------------------------------------------------------------
{
    my %required = (
        '/api/shops'        => [qw(name timezone smsFrom depositAmount currency)],
        '/api/customers'    => [qw(shopId name phone smsOptIn)],
        '/api/appointments' => [qw(shopId customerId startsAt endsAt)],
    );
    for my $path (sort keys %required) {
        for my $member (@{ $required{$path} }) {
            my %body = %{ $valid{$path} };
            delete $body{$member};
            refused(POST => $path, \%body, {}, 400, qr/\Q$member\E/, "POST $path without $member");
            $body{$member} = undef;
            refused(POST => $path, \%body, {}, 400, qr/\Q$member\E/, "POST $path with $member null");
        }
        refused(POST => $path, {}, {}, 400, qr/required/, "POST $path with {}");
    }
    refused(POST => '/api/jobs/offer-loop', {}, {}, 400, qr/slotOpeningId/, 'POST /api/jobs/offer-loop with {}');
}

# --- 4. wrong types ----------------------------------------------------------------------------------
{
    my @cases = (
        [ '/api/shops', depositAmount   => '20' ],
        [ '/api/shops', depositAmount   => 20.5 ],
        [ '/api/shops', depositAmount   => json_true() ],
        [ '/api/shops', offerTtlSeconds => '900' ],
        [ '/api/shops', name            => 42 ],
        [ '/api/shops', name            => { first => 'x' } ],
        [ '/api/shops', timezone        => ['Europe/Paris'] ],
        [ '/api/shops', currency        => json_false() ],
        [ '/api/shops', smsFrom         => 33612345678 ],
        [ '/api/shops', quietHoursStart => 2100, quietHoursEnd => '07:00' ],
        [ '/api/customers', smsOptIn    => 'yes' ],
        [ '/api/customers', smsOptIn    => 1 ],
        [ '/api/customers', smsOptIn    => 'true' ],
        [ '/api/customers', shopId      => [ $shop->{id} ] ],
        [ '/api/customers', shopId      => 1.5 ],
        [ '/api/customers', name        => json_true() ],
        [ '/api/customers', email       => ['a@b.c'] ],
        [ '/api/appointments', startsAt => 1900000000 ],
        [ '/api/appointments', endsAt   => { at => 'noon' } ],
        [ '/api/appointments', customerId => json_true() ],
    );
    for my $case (@cases) {
        my ($path, @over) = @$case;
        my %over = @over;
        my ($member) = $over[0];
        my %body = (%{ $valid{$path} }, %over);
        my $shown = encode_json($over{$member});
        refused(POST => $path, \%body, {}, 400, qr/\Q$member\E/, "POST $path, $member $shown");
    }
    refused(PATCH => "/api/shops/$shop->{id}", { depositAmount => '20' }, {}, 400, qr/depositAmount/,
        'PATCH /api/shops/{id}, depositAmount "20"');
    refused(PATCH => "/api/shops/$shop->{id}", { offerTtlSeconds => json_true() }, {}, 400, qr/offerTtlSeconds/,
        'PATCH /api/shops/{id}, offerTtlSeconds true');
    refused(POST => '/api/jobs/offer-loop', { slotOpeningId => json_true() }, {}, 400, qr/slotOpeningId/,
        'POST /api/jobs/offer-loop, slotOpeningId true');
    refused(POST => '/api/jobs/offer-loop', { slotOpeningId => 'abc' }, {}, 400, qr/slotOpeningId/,
        'POST /api/jobs/offer-loop, slotOpeningId "abc"');
    refused(POST => '/api/jobs/offer-loop', { slotOpeningId => '0' }, {}, 400, qr/slotOpeningId/,
        'POST /api/jobs/offer-loop, slotOpeningId "0"');
}

# --- 5. bad phone numbers --------------------------------------------------------------------------
for my $phone ('5551234567', '+1 555 123 4567', '+1-555-123-4567', '+0155512345', '+123456',
               '+1234567890123456', '+1555123456a', '', '+', '++15551234567', "+15551234567\n") {
    my $shown = encode_json($phone);
    refused(POST => '/api/customers', { %{ $valid{'/api/customers'} }, phone => $phone }, {}, 400, qr/phone/,
        "POST /api/customers, phone $shown");
    refused(POST => '/api/shops', { %{ $valid{'/api/shops'} }, smsFrom => $phone }, {}, 400, qr/smsFrom/,
        "POST /api/shops, smsFrom $shown");
}
refused(PATCH => "/api/shops/$shop->{id}", { smsFrom => '555' }, {}, 400, qr/smsFrom/,
    'PATCH /api/shops/{id}, smsFrom "555"');

# --- 6. unknown ids ------------------------------------------------------------------------------------
{
    refused(POST => '/api/customers', { %{ $valid{'/api/customers'} }, shopId => '999999' }, {}, 404, qr/shop/i,
        'POST /api/customers, unknown shopId');
    refused(POST => '/api/appointments', { %{ $valid{'/api/appointments'} }, shopId => '999999' }, {}, 404,
        qr/shop/i, 'POST /api/appointments, unknown shopId');
    refused(POST => '/api/appointments', { %{ $valid{'/api/appointments'} }, customerId => '999999' }, {}, 404,
        qr/customer/i, 'POST /api/appointments, unknown customerId');
    refused(PATCH => '/api/shops/999999', { name => 'x' }, {}, 404, qr/shop/i, 'PATCH an unknown shop');
    refused(GET => '/api/appointments/999999', undef, {}, 404, qr/appointment/i, 'GET an unknown appointment');
    refused(POST => '/api/appointments/999999/cancel', undef, {}, 404, qr/appointment/i,
        'cancel an unknown appointment');
    refused(GET => '/api/slot-openings/999999', undef, {}, 404, qr/slot/i, 'GET an unknown slot opening');
    refused(POST => '/api/jobs/offer-loop', { slotOpeningId => '999999' }, {}, 404, qr/slot/i,
        'POST /api/jobs/offer-loop, unknown slot opening');
    # The largest id the path accepts, beyond any row.
    refused(GET => '/api/appointments/999999999999999999', undef, {}, 404, qr/appointment/i,
        'GET appointment 999999999999999999 (18 digits)');
}

# --- 7. endsAt not after startsAt ---------------------------------------------------------------------
{
    my $t = iso_in(86400 * 9);
    refused(POST => '/api/appointments', { %{ $valid{'/api/appointments'} }, startsAt => $t, endsAt => $t }, {}, 400,
        qr/endsAt/, 'POST /api/appointments, endsAt = startsAt');
    refused(POST => '/api/appointments', { %{ $valid{'/api/appointments'} }, startsAt => $t,
        endsAt => iso_in(86400 * 9 - 60) }, {}, 400, qr/endsAt/, 'POST /api/appointments, endsAt before startsAt');
}

# --- 8. a body over SlotRecoveryMaxBody ----------------------------------------------------------------
{
    my $limit = conf_value('SlotRecoveryMaxBody', 262144);
    my $json = encode_json($valid{'/api/shops'});
    # Exactly the limit (white space padding): accepted.
    my $exact = $json . (' ' x ($limit - length $json));
    is length $exact, $limit, "a body of exactly $limit bytes";
    my $r = api(POST => '/api/shops', undef, raw => $exact);
    is $r->status, 201, '... is accepted (201)' or diag substr($r->dump, 0, 300);
    db_do('DELETE FROM shops WHERE id = ?', $r->json->{id}) if $r->status == 201;

    my $over = $json . (' ' x ($limit - length($json) + 1));
    $r = refused(POST => '/api/shops', undef, { raw => $over }, 413, qr/larger|large|limit/i,
        "POST /api/shops, a body of $limit + 1 bytes (Content-Length)");

    my $big = encode_json({ %{ $valid{'/api/customers'} }, name => 'x' x ($limit * 2) });
    refused(POST => '/api/customers', undef, { raw => $big }, 413, qr/larger|large|limit/i,
        'POST /api/customers, a body twice the limit');

    # Chunked, so the size is not announced: refused while reading.
    my $before = table_counts();
    my @chunks = ('{"name":"', ('y' x 65536) x (int($limit / 65536) + 2), '","timezone":"UTC"}');
    my $res = HTTP::Tiny->new(timeout => 30)->request(POST => url('/api/shops'), {
        headers => { 'X-Internal-Secret' => secret(), 'Content-Type' => 'application/json' },
        content => sub { shift @chunks },
    });
    is $res->{status}, 413, 'a chunked body over the limit: 413' or diag "$res->{status} $res->{content}";
    my $err = eval { decode_json($res->{content}) };
    ok $err && $err->{error}, '... with a JSON error';
    counts_unchanged($before, '... nothing written');
}

# --- 9. unknown routes -----------------------------------------------------------------------------------
for my $case (
    [ GET  => '/api/nothing-here' ],
    [ POST => '/api/shop' ],
    [ GET  => '/api' ],
    [ GET  => '/api/' ],
    [ POST => '/api/shops/1/extra' ],
    [ GET  => "/api/appointments/$appt->{id}/extra" ],
    [ POST => '/api/appointments/cancel' ],
    [ GET  => '/api/slot-openings' ],
    [ POST => '/api/jobs' ],
    [ POST => '/api/jobs/unknown-job' ],
    [ GET  => '/api/SHOPS' ],
) {
    my ($m, $p) = @$case;
    refused($m, $p, ($m eq 'POST' ? {} : undef), {}, 404, qr/route|not found/i, "$m $p");
    refused($m, $p, undef, { secret => undef }, 404, undef, "$m $p without the secret");
}

# --- 10. wrong methods (405 with Allow) -----------------------------------------------------------------------
for my $case (
    [ GET    => '/api/shops',                           'POST' ],
    [ DELETE => '/api/shops',                           'POST' ],
    [ GET    => "/api/shops/$shop->{id}",               'PATCH' ],
    [ PUT    => "/api/shops/$shop->{id}",               'PATCH' ],
    [ POST   => "/api/shops/$shop->{id}",               'PATCH' ],
    [ GET    => '/api/customers',                       'POST' ],
    [ GET    => '/api/appointments',                    'POST' ],
    [ POST   => "/api/appointments/$appt->{id}",        'GET' ],
    [ DELETE => "/api/appointments/$appt->{id}",        'GET' ],
    [ PATCH  => "/api/appointments/$appt->{id}",        'GET' ],
    [ GET    => "/api/appointments/$appt->{id}/cancel", 'POST' ],
    [ DELETE => "/api/slot-openings/$slot->{id}",       'GET' ],
    [ GET    => '/api/jobs/offer-loop',                 'POST' ],
    [ GET    => '/api/jobs/sweep',                      'POST' ],
) {
    my ($m, $p, $allowed) = @$case;
    my $r = refused($m, $p, undef, {}, 405, qr/method|allowed/i, "$m $p");
    my @allow = map { s/^\s+|\s+$//gr } split /,/, $r->header('Allow') // '';
    ok((grep { $_ eq $allowed } @allow), "$m $p: Allow lists $allowed") or diag 'Allow: ' . ($r->header('Allow') // '');
    ok(!(grep { $_ eq $m } @allow), "$m $p: ... and not $m");
}

# --- 11. ids in the path that are not ids ----------------------------------------------------------------------
for my $bad ('abc', '0', '01', '-1', '1.0', '1e3', ' 1', '1%20', '9999999999999999999', '12345678901234567890') {
    refused(GET => "/api/appointments/$bad", undef, {}, 404, undef, "GET /api/appointments/$bad");
    refused(POST => "/api/appointments/$bad/cancel", undef, {}, 404, undef, "POST /api/appointments/$bad/cancel");
    refused(PATCH => "/api/shops/$bad", { name => 'x' }, {}, 404, undef, "PATCH /api/shops/$bad");
    refused(GET => "/api/slot-openings/$bad", undef, {}, 404, undef, "GET /api/slot-openings/$bad");
}

# --- 12. the internal secret, on every route ---------------------------------------------------------------------
for my $case (
    [ POST  => '/api/shops', $valid{'/api/shops'} ],
    [ PATCH => "/api/shops/$shop->{id}", { name => 'Renamed' } ],
    [ POST  => '/api/customers', $valid{'/api/customers'} ],
    [ POST  => '/api/appointments', $valid{'/api/appointments'} ],
    [ GET   => "/api/appointments/$appt->{id}", undef ],
    [ POST  => "/api/appointments/$appt->{id}/cancel", undef ],
    [ GET   => "/api/slot-openings/$slot->{id}", undef ],
    [ POST  => '/api/jobs/offer-loop', { slotOpeningId => $slot->{id} } ],
    [ POST  => '/api/jobs/sweep', undef ],
) {
    my ($m, $p, $body) = @$case;
    for my $secret ([ 'no secret', undef ], [ 'a wrong secret', 'wrong' ], [ 'an empty secret', '' ],
                    [ 'the secret in upper case', uc secret() ], [ 'the secret with a suffix', secret() . 'x' ]) {
        my ($what, $value) = @$secret;
        my $r = refused($m, $p, $body, { secret => $value }, 401, qr/secret/i, "$m $p with $what");
        ok defined $r->header('WWW-Authenticate'), "$m $p with $what: WWW-Authenticate";
    }
}
is db_row('SELECT name FROM shops WHERE id = ?', $shop->{id})->{name}, 'Bad Input Shop', 'the shop was never renamed';
is db_row('SELECT status FROM appointments WHERE id = ?', $appt->{id})->{status}, 'booked',
    'the appointment was never cancelled';

done_testing();
