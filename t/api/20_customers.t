# SPDX-License-Identifier: Apache-2.0
# POST /api/customers: the view, the row, optional members, one phone per
# shop (409), unknown shops (404), and the checks of each member.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $shop  = make_shop(name => 'Customers Shop');
my $other = make_shop(name => 'Other Shop');

# --- every member --------------------------------------------------------------
my $full;
{
    my $r = api(POST => '/api/customers', {
        shopId => $shop->{id}, name => 'Ada Lovelace', phone => '+15551230001',
        email => 'ada@example.com', smsOptIn => json_true(),
        stripeCustomerId => 'cus_ABC123', stripePaymentMethodId => 'pm_card-visa_1',
    });
    is $r->status, 201, 'POST /api/customers: 201' or diag $r->dump;
    like $r->content_type, qr{^application/json}, '... JSON';
    $full = $r->json;
    is_deeply [ sort keys %$full ],
        [ sort qw(id shopId name phone email smsOptIn stripeCustomerId stripePaymentMethodId
                  waitlistJoinedAt createdAt) ],
        '... exactly the documented members';
    like $full->{id}, qr/^[1-9]\d*$/, '... id is digits';
    is_json_kind($r, 'id', 'string', '... id is a JSON string');
    is_json_kind($r, 'shopId', 'string', '... shopId is a JSON string');
    is_json_kind($r, 'smsOptIn', 'boolean', '... smsOptIn is a JSON boolean');
    is $full->{shopId}, $shop->{id}, '... shopId';
    is $full->{name}, 'Ada Lovelace', '... name';
    is $full->{phone}, '+15551230001', '... phone';
    is $full->{email}, 'ada@example.com', '... email';
    ok $full->{smsOptIn}, '... smsOptIn true';
    is $full->{stripeCustomerId}, 'cus_ABC123', '... stripeCustomerId';
    is $full->{stripePaymentMethodId}, 'pm_card-visa_1', '... stripePaymentMethodId';
    like $full->{waitlistJoinedAt}, RFC3339_RE, '... waitlistJoinedAt RFC 3339';
    like $full->{createdAt}, RFC3339_RE, '... createdAt RFC 3339';
    is $full->{waitlistJoinedAt}, $full->{createdAt}, '... joined the waitlist when created';

    my $row = db_row(q{SELECT *, abs(extract(epoch FROM waitlist_joined_at - now())) AS age
                       FROM customers WHERE id = ?}, $full->{id});
    ok $row, '... a row in customers';
    is $row->{shop_id}, $shop->{id}, 'row: shop_id';
    is $row->{phone}, '+15551230001', 'row: phone';
    is $row->{email}, 'ada@example.com', 'row: email';
    ok $row->{sms_opt_in}, 'row: sms_opt_in';
    is $row->{stripe_customer_id}, 'cus_ABC123', 'row: stripe_customer_id';
    is $row->{stripe_payment_method_id}, 'pm_card-visa_1', 'row: stripe_payment_method_id';
    cmp_ok $row->{age}, '<', 60, 'row: joined the waitlist just now';
}

# --- only the required members --------------------------------------------------
{
    my $r = api(POST => '/api/customers', {
        shopId => $shop->{id}, name => 'Bob', phone => '+15551230002', smsOptIn => json_false() });
    is $r->status, 201, 'required members only: 201' or diag $r->dump;
    my $c = $r->json;
    ok defined $c && !$c->{smsOptIn}, '... smsOptIn false';
    is_json_kind($r, 'smsOptIn', 'boolean', '... still a JSON boolean');
    for my $k (qw(email stripeCustomerId stripePaymentMethodId)) {
        ok exists $c->{$k} && !defined $c->{$k}, "... $k null";
    }
    my $row = db_row('SELECT * FROM customers WHERE id = ?', $c->{id});
    ok !$row->{sms_opt_in}, 'row: sms_opt_in false';
    ok !defined $row->{email}, 'row: email NULL';

    $r = api(POST => '/api/customers', {
        shopId => $shop->{id}, name => 'Nulls', phone => '+15551230003', smsOptIn => json_true(),
        email => undef, stripeCustomerId => undef });
    is $r->status, 201, 'optional members given as null: 201' or diag $r->dump;
    ok !defined $r->json->{email}, '... email null';
}

# --- the shop id as a JSON number --------------------------------------------------
# The contract has ids as strings; a positive JSON integer is taken too.
{
    my $numeric = 0 + "$shop->{id}";    # a copy: $shop->{id} must stay a string
    my $r = api(POST => '/api/customers', {
        shopId => $numeric, name => 'Numeric', phone => '+15551230004', smsOptIn => json_true() });
    is $r->status, 201, 'shopId as a JSON number is accepted' or diag $r->dump;
    is $r->json && $r->json->{shopId}, $shop->{id}, '... and answered as a string';
    db_do('DELETE FROM customers WHERE id = ?', $r->json->{id}) if $r->status == 201;
}

# --- one phone per shop ------------------------------------------------------------------
{
    my $before = table_counts();
    my $r = api(POST => '/api/customers', {
        shopId => $shop->{id}, name => 'Ada Again', phone => '+15551230001', smsOptIn => json_true() });
    is $r->status, 409, 'the same phone twice in one shop: 409' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/phone/, '... the error is about the phone';
    counts_unchanged($before, '... nothing written');
    is db_count('customers WHERE phone = ?', '+15551230001'), 1, '... still one customer with that phone';

    $r = api(POST => '/api/customers', {
        shopId => $other->{id}, name => 'Ada Elsewhere', phone => '+15551230001', smsOptIn => json_true() });
    is $r->status, 201, 'the same phone in another shop: 201' or diag $r->dump;
    is $r->json->{shopId}, $other->{id}, '... in that shop';
    is db_count('customers WHERE phone = ?', '+15551230001'), 2, '... two customers with that phone now';
}

# --- unknown shop ----------------------------------------------------------------------
{
    my $before = table_counts();
    my $r = api(POST => '/api/customers', {
        shopId => '999999', name => 'Nobody', phone => '+15551239999', smsOptIn => json_true() });
    is $r->status, 404, 'unknown shopId: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/shop/i, '... the error names the shop';
    counts_unchanged($before, '... nothing written');
}

# --- member checks -----------------------------------------------------------------------
{
    my %ok = (shopId => $shop->{id}, name => 'Checked', phone => '+15551238888', smsOptIn => json_true());
    for my $case (
        [ 'missing shopId',          { shopId => undef },               qr/shopId/ ],
        [ 'shopId not digits',       { shopId => 'abc' },               qr/shopId/ ],
        [ 'shopId 0',                { shopId => '0' },                 qr/shopId/ ],
        [ 'shopId negative number',  { shopId => -3 },                  qr/shopId/ ],
        [ 'shopId boolean',          { shopId => json_true() },         qr/shopId/ ],
        [ 'missing name',            { name => undef },                 qr/name/ ],
        [ 'name with a newline',     { name => "Two\nLines" },          qr/name/ ],
        [ 'name starting with space', { name => ' Padded' },            qr/name/ ],
        [ 'missing phone',           { phone => undef },                qr/phone/ ],
        [ 'phone with spaces',       { phone => '+1 555 123 8888' },    qr/phone/ ],
        [ 'phone as a number',       { phone => 15551238888 },          qr/phone/ ],
        [ 'phone too short',         { phone => '+123456' },            qr/phone/ ],
        [ 'missing smsOptIn',        { smsOptIn => undef },             qr/smsOptIn/ ],
        [ 'smsOptIn "yes"',          { smsOptIn => 'yes' },             qr/smsOptIn/ ],
        [ 'smsOptIn 1',              { smsOptIn => 1 },                 qr/smsOptIn/ ],
        [ 'smsOptIn "true"',         { smsOptIn => 'true' },            qr/smsOptIn/ ],
        [ 'email without @',         { email => 'ada.example.com' },    qr/email/ ],
        [ 'email with a space',      { email => 'ada @example.com' },   qr/email/ ],
        [ 'email not a string',      { email => 42 },                   qr/email/ ],
        [ 'stripeCustomerId with a space', { stripeCustomerId => 'cus 1' }, qr/stripeCustomerId/ ],
        [ 'stripePaymentMethodId empty',   { stripePaymentMethodId => '' }, qr/stripePaymentMethodId/ ],
    ) {
        my ($label, $over, $re) = @$case;
        my %body = (%ok, %$over);
        delete @body{ grep { !defined $over->{$_} } keys %$over };
        my $before = table_counts();
        my $r = api(POST => '/api/customers', \%body);
        is $r->status, 400, "$label: 400" or diag $r->dump;
        like $r->json && $r->json->{error}, $re, "$label: the error names the member";
        counts_unchanged($before, "$label: nothing written");
    }
}

is db_count('customers'), 4, 'four customers in all';

done_testing();
