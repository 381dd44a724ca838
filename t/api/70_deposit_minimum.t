# SPDX-License-Identifier: Apache-2.0
# A deposit below Stripe's minimum charge for its currency is refused when the
# shop is created or changed (400, nothing written, a log line), instead of
# failing with amount_too_small when a customer answers YES. 0 (no deposit)
# stays allowed; a currency without a documented minimum is not refused.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(table_counts counts_unchanged);
use SlotRecovery::Flows qw(error_log_mark error_log_since);

reset_db();

my %base = (name => 'Minimum Cuts', timezone => 'Europe/London', smsFrom => '+447700900123');

# --- POST /api/shops -------------------------------------------------------------------------
for my $case (
    [ usd => 49, 50 ], [ eur => 49, 50 ], [ gbp => 29, 30 ], [ cad => 49, 50 ], [ aud => 49, 50 ],
    [ chf => 49, 50 ], [ jpy => 49, 50 ], [ hkd => 399, 400 ], [ mxn => 999, 1000 ], [ huf => 17499, 17500 ],
) {
    my ($currency, $below, $minimum) = @$case;
    my $before = table_counts();
    my $mark = error_log_mark();
    my $r = api(POST => '/api/shops', { %base, currency => uc $currency, depositAmount => $below });
    is $r->status, 400, "$currency $below: 400" or diag $r->dump;
    like $r->json && $r->json->{error}, qr/^depositAmount: .*minimum.*\b$minimum\b/,
        "$currency $below: ... the error names Stripe's minimum ($minimum)";
    counts_unchanged($before, "$currency $below: ... nothing written");
    like error_log_since($mark), qr/mod_slotrecovery: POST \/api\/shops: 400 depositAmount/, "$currency $below: ... logged";
    $r = api(POST => '/api/shops', { %base, currency => $currency, depositAmount => $minimum });
    is $r->status, 201, "$currency $minimum (the minimum): 201" or diag $r->dump;
}

{
    my $r = api(POST => '/api/shops', { %base, currency => 'usd', depositAmount => 0 });
    is $r->status, 201, 'depositAmount 0 (no deposit): 201' or diag $r->dump;
    $r = api(POST => '/api/shops', { %base, currency => 'jpy', depositAmount => 0 });
    is $r->status, 201, 'depositAmount 0 in jpy: 201' or diag $r->dump;
    $r = api(POST => '/api/shops', { %base, currency => 'xts', depositAmount => 1 });
    is $r->status, 201, 'a currency without a documented minimum: not refused' or diag $r->dump;
}

# --- PATCH /api/shops/{id} ----------------------------------------------------------------------
{
    my $shop = make_shop(%base, currency => 'usd', depositAmount => 2000);
    my $before = table_counts();

    my $r = api(PATCH => "/api/shops/$shop->{id}", { depositAmount => 10 });
    is $r->status, 400, 'PATCH depositAmount 10 usd: 400' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/^depositAmount: .*minimum.*\b50\b/, '... names the minimum';

    $r = api(PATCH => "/api/shops/$shop->{id}", { currency => 'huf' });
    is $r->status, 400, 'PATCH currency huf with 2000 (20.00 HUF): 400' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/^depositAmount: .*minimum.*\b17500\b/, '... against the new currency\'s minimum';

    $r = api(PATCH => "/api/shops/$shop->{id}", { currency => 'gbp', depositAmount => 29 });
    is $r->status, 400, 'PATCH both, below the minimum: 400' or diag $r->dump;
    counts_unchanged($before, 'refused PATCHes wrote nothing');

    $r = api(PATCH => "/api/shops/$shop->{id}", { currency => 'gbp', depositAmount => 30 });
    is $r->status, 200, 'PATCH gbp 30: 200' or diag $r->dump;
    is $r->json && $r->json->{depositAmount}, 30, '... stored';
    $r = api(PATCH => "/api/shops/$shop->{id}", { depositAmount => 0 });
    is $r->status, 200, 'PATCH depositAmount 0: 200' or diag $r->dump;
    $r = api(PATCH => "/api/shops/$shop->{id}", { currency => 'jpy' });
    is $r->status, 200, 'PATCH the currency of a shop without a deposit: 200' or diag $r->dump;
    $r = api(PATCH => "/api/shops/$shop->{id}", { name => 'Renamed' });
    is $r->status, 200, 'PATCH another member: 200' or diag $r->dump;
}

done_testing();
