# SPDX-License-Identifier: Apache-2.0
# POST /api/shops and PATCH /api/shops/{id}: the stored row, the view, the
# defaults and bounds, partial updates, quiet hours set and cleared.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my %base = (
    name => 'Barber & Co', timezone => 'Europe/London', smsFrom => '+447700900123',
    depositAmount => 2500, currency => 'GBP',
);

# --- create: every field, and the view --------------------------------------
my $shop;
{
    my $r = api(POST => '/api/shops', { %base, offerTtlSeconds => 600,
        quietHoursStart => '21:30', quietHoursEnd => '08:00' });
    is $r->status, 201, 'POST /api/shops: 201' or diag $r->dump;
    like $r->content_type, qr{^application/json}, '... JSON';
    $shop = $r->json;
    is_deeply [ sort keys %$shop ],
        [ sort qw(id name timezone smsFrom depositAmount currency offerTtlSeconds quietHoursStart
                  quietHoursEnd createdAt updatedAt) ],
        '... exactly the documented members';
    like $shop->{id}, qr/^[1-9]\d*$/, '... id is digits';
    is_json_kind($r, 'id', 'string', '... id is a JSON string');
    is_json_kind($r, 'depositAmount', 'number', '... depositAmount is a JSON number');
    is_json_kind($r, 'offerTtlSeconds', 'number', '... offerTtlSeconds is a JSON number');
    is $shop->{name}, 'Barber & Co', '... name';
    is $shop->{timezone}, 'Europe/London', '... timezone';
    is $shop->{smsFrom}, '+447700900123', '... smsFrom';
    is $shop->{depositAmount}, 2500, '... depositAmount';
    is $shop->{currency}, 'gbp', '... currency comes back lower case';
    is $shop->{offerTtlSeconds}, 600, '... offerTtlSeconds';
    is $shop->{quietHoursStart}, '21:30', '... quietHoursStart';
    is $shop->{quietHoursEnd}, '08:00', '... quietHoursEnd';
    like $shop->{createdAt}, RFC3339_RE, '... createdAt is RFC 3339 UTC';
    like $shop->{updatedAt}, RFC3339_RE, '... updatedAt is RFC 3339 UTC';

    my $row = db_row(q{SELECT *, to_char(quiet_hours_start, 'HH24:MI') AS qs, to_char(quiet_hours_end, 'HH24:MI') AS qe,
                       abs(extract(epoch FROM created_at - now())) AS age FROM shops WHERE id = ?}, $shop->{id});
    ok $row, '... a row in shops';
    is $row->{name}, 'Barber & Co', 'row: name';
    is $row->{timezone}, 'Europe/London', 'row: timezone';
    is $row->{sms_from}, '+447700900123', 'row: sms_from';
    is $row->{deposit_amount}, 2500, 'row: deposit_amount';
    is $row->{currency}, 'gbp', 'row: currency stored lower case';
    is $row->{offer_ttl_seconds}, 600, 'row: offer_ttl_seconds';
    is "$row->{qs}-$row->{qe}", '21:30-08:00', 'row: quiet hours';
    cmp_ok $row->{age}, '<', 60, 'row: created just now';
    is db_count('shops'), 1, 'one shop';
}

# --- create: defaults and the bounds that are allowed -----------------------
{
    my $r = api(POST => '/api/shops', { %base, depositAmount => 0 });
    is $r->status, 201, 'without the optional members: 201' or diag $r->dump;
    is $r->json->{offerTtlSeconds}, 900, '... offerTtlSeconds defaults to 900';
    is $r->json->{quietHoursStart}, undef, '... quietHoursStart null';
    is $r->json->{quietHoursEnd}, undef, '... quietHoursEnd null';
    ok exists $r->json->{quietHoursStart} && exists $r->json->{quietHoursEnd}, '... but present';
    is $r->json->{depositAmount}, 0, '... depositAmount 0 is allowed';
    is db_row('SELECT offer_ttl_seconds FROM shops WHERE id = ?', $r->json->{id})->{offer_ttl_seconds}, 900,
        '... stored 900';

    for my $case (
        [ 'depositAmount 99999999', { depositAmount => 99999999 } ],
        [ 'offerTtlSeconds 1',      { offerTtlSeconds => 1 } ],
        [ 'offerTtlSeconds 86400',  { offerTtlSeconds => 86400 } ],
        [ 'smsFrom with 7 digits',  { smsFrom => '+1234567' } ],
        [ 'smsFrom with 15 digits', { smsFrom => '+123456789012345' } ],
        [ 'name of 200 characters', { name => 'x' x 200 } ],
        [ 'timezone UTC',           { timezone => 'UTC' } ],
        [ 'quiet hours 00:00-23:59', { quietHoursStart => '00:00', quietHoursEnd => '23:59' } ],
    ) {
        my ($label, $over) = @$case;
        my $r = api(POST => '/api/shops', { %base, %$over });
        is $r->status, 201, "$label: 201" or diag $r->dump;
        my ($k) = keys %$over;
        is $r->json->{$k}, $over->{$k}, "$label: echoed";
    }
    is db_count('shops'), 10, 'ten shops now';
}

# --- create: out of bounds (more bad input in t/api/50_bad_input.t) ---------
{
    for my $case (
        [ 'unknown time zone',         { timezone => 'Mars/Olympus_Mons' }, qr/timezone/ ],
        [ 'time zone of a bad shape',  { timezone => '../etc/passwd' },     qr/timezone/ ],
        [ 'depositAmount -1',          { depositAmount => -1 },             qr/depositAmount/ ],
        [ 'depositAmount 100000000',   { depositAmount => 100000000 },      qr/depositAmount/ ],
        [ 'depositAmount 20.5',        { depositAmount => 20.5 },           qr/depositAmount/ ],
        [ 'offerTtlSeconds 0',         { offerTtlSeconds => 0 },            qr/offerTtlSeconds/ ],
        [ 'offerTtlSeconds 86401',     { offerTtlSeconds => 86401 },        qr/offerTtlSeconds/ ],
        [ 'currency of 2 letters',     { currency => 'us' },                qr/currency/ ],
        [ 'currency with a digit',     { currency => 'us1' },               qr/currency/ ],
        [ 'smsFrom with 6 digits',     { smsFrom => '+123456' },            qr/smsFrom/ ],
        [ 'smsFrom with 16 digits',    { smsFrom => '+1234567890123456' },  qr/smsFrom/ ],
        [ 'smsFrom starting with +0',  { smsFrom => '+0123456789' },        qr/smsFrom/ ],
        [ 'smsFrom without +',         { smsFrom => '15551234567' },        qr/smsFrom/ ],
        [ 'empty name',                { name => '' },                      qr/name/ ],
        [ 'name of 201 characters',    { name => 'x' x 201 },               qr/name/ ],
        [ 'quietHoursStart alone',     { quietHoursStart => '22:00' },      qr/quietHours/ ],
        [ 'quietHoursEnd alone',       { quietHoursEnd => '07:00' },        qr/quietHours/ ],
        [ 'quiet hours 24:00',         { quietHoursStart => '24:00', quietHoursEnd => '07:00' }, qr/quietHoursStart/ ],
        [ 'quiet hours 7:00',          { quietHoursStart => '22:00', quietHoursEnd => '7:00' },  qr/quietHoursEnd/ ],
        [ 'quiet hours 22:60',         { quietHoursStart => '22:60', quietHoursEnd => '07:00' }, qr/quietHoursStart/ ],
    ) {
        my ($label, $over, $re) = @$case;
        my $before = table_counts();
        my $r = api(POST => '/api/shops', { %base, %$over });
        is $r->status, 400, "$label: 400" or diag $r->dump;
        like $r->json && $r->json->{error}, $re, "$label: the error names the member";
        counts_unchanged($before, "$label: nothing written");
    }
}

# --- PATCH ---------------------------------------------------------------------
{
    my $id = $shop->{id};
    db_do(q{UPDATE shops SET updated_at = now() - interval '1 hour' WHERE id = ?}, $id);
    my $r = api(PATCH => "/api/shops/$id", { name => 'Barber & Sons', depositAmount => 3000 });
    is $r->status, 200, 'PATCH name and depositAmount: 200' or diag $r->dump;
    is $r->json->{id}, $id, '... the same shop';
    is $r->json->{name}, 'Barber & Sons', '... new name';
    is $r->json->{depositAmount}, 3000, '... new depositAmount';
    is $r->json->{timezone}, 'Europe/London', '... timezone kept';
    is $r->json->{smsFrom}, '+447700900123', '... smsFrom kept';
    is $r->json->{currency}, 'gbp', '... currency kept';
    is $r->json->{offerTtlSeconds}, 600, '... offerTtlSeconds kept';
    is join("-", map { $_ // "" } @{ $r->json }{qw(quietHoursStart quietHoursEnd)}), '21:30-08:00', '... quiet hours kept';
    is $r->json->{createdAt}, $shop->{createdAt}, '... createdAt kept';
    cmp_ok db_row(q{SELECT extract(epoch FROM now() - updated_at) AS age FROM shops WHERE id = ?}, $id)->{age},
        '<', 60, '... updated_at moved';
    my $row = db_row('SELECT * FROM shops WHERE id = ?', $id);
    is "$row->{name}|$row->{deposit_amount}", 'Barber & Sons|3000', '... stored';

    $r = api(PATCH => "/api/shops/$id", { timezone => 'America/Chicago', smsFrom => '+15005550009',
        currency => 'EUR', offerTtlSeconds => 120 });
    is $r->status, 200, 'PATCH the other fields: 200' or diag $r->dump;
    $row = db_row('SELECT * FROM shops WHERE id = ?', $id);
    is "$row->{timezone}|$row->{sms_from}|$row->{currency}|$row->{offer_ttl_seconds}",
        'America/Chicago|+15005550009|eur|120', '... stored (currency lower case)';
    is $r->json->{currency}, 'eur', '... view currency lower case';

    $r = api(PATCH => "/api/shops/$id", { quietHoursStart => '22:15', quietHoursEnd => '06:45' });
    is $r->status, 200, 'PATCH new quiet hours: 200' or diag $r->dump;
    is join("-", map { $_ // "" } @{ $r->json }{qw(quietHoursStart quietHoursEnd)}), '22:15-06:45', '... answered';
    $row = db_row(q{SELECT to_char(quiet_hours_start, 'HH24:MI') AS qs, to_char(quiet_hours_end, 'HH24:MI') AS qe
                    FROM shops WHERE id = ?}, $id);
    is "$row->{qs}-$row->{qe}", '22:15-06:45', '... stored';

    $r = api(PATCH => "/api/shops/$id", { quietHoursStart => undef, quietHoursEnd => undef });
    is $r->status, 200, 'PATCH quiet hours null: 200' or diag $r->dump;
    ok !defined $r->json->{quietHoursStart} && !defined $r->json->{quietHoursEnd}, '... cleared in the answer';
    $row = db_row('SELECT quiet_hours_start, quiet_hours_end, name FROM shops WHERE id = ?', $id);
    ok !defined $row->{quiet_hours_start} && !defined $row->{quiet_hours_end}, '... cleared in the row';
    is $row->{name}, 'Barber & Sons', '... the rest kept';

    $r = api(PATCH => "/api/shops/$id", {});
    is $r->status, 200, 'PATCH {}: 200' or diag $r->dump;
    is $r->json->{name}, 'Barber & Sons', '... unchanged shop';

    $r = api(PATCH => "/api/shops/$id/", { name => 'Trailing Slash' });
    is $r->status, 200, 'PATCH /api/shops/{id}/ (trailing slash) routes too' or diag $r->dump;

    for my $case (
        [ 'quietHoursStart alone',        { quietHoursStart => '22:00' } ],
        [ 'quietHoursEnd null alone',     { quietHoursEnd => undef } ],
        [ 'one null, one time',           { quietHoursStart => undef, quietHoursEnd => '07:00' } ],
        [ 'unknown time zone',            { timezone => 'Nowhere/Special' } ],
        [ 'depositAmount as a string',    { depositAmount => '20' } ],
        [ 'offerTtlSeconds 0',            { offerTtlSeconds => 0 } ],
        [ 'bad smsFrom',                  { smsFrom => '555-1234' } ],
        [ 'empty name',                   { name => '' } ],
    ) {
        my ($label, $body) = @$case;
        my $before = table_counts();
        my $r = api(PATCH => "/api/shops/$id", $body);
        is $r->status, 400, "PATCH $label: 400" or diag $r->dump;
        ok $r->json && length $r->json->{error}, "PATCH $label: a JSON error";
        counts_unchanged($before, "PATCH $label: nothing changed");
    }

    my $before = table_counts();
    $r = api(PATCH => '/api/shops/987654', { name => 'Ghost' });
    is $r->status, 404, 'PATCH an unknown shop: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/shop/i, '... the error says what was not found';
    counts_unchanged($before, '... nothing written');
}

done_testing();
