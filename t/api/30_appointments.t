# SPDX-License-Identifier: Apache-2.0
# POST /api/appointments and GET /api/appointments/{id}: the view (customer
# nested, payment null), times with offsets normalised to UTC, endsAt after
# startsAt, the customer's shop, unknown ids.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $shop  = make_shop(name => 'Appointments Shop');
my $other = make_shop(name => 'Elsewhere');
my $cust  = make_customer($shop->{id}, name => 'Grace', phone => '+15552220001', email => 'grace@example.com');
my $stranger = make_customer($other->{id}, name => 'Stranger', phone => '+15552220002');

# --- create and the view -----------------------------------------------------------
my $appt;
{
    my $r = api(POST => '/api/appointments', {
        shopId => $shop->{id}, customerId => $cust->{id},
        startsAt => '2031-03-14T17:30:00Z', endsAt => '2031-03-14T18:15:00Z' });
    is $r->status, 201, 'POST /api/appointments: 201' or diag $r->dump;
    like $r->content_type, qr{^application/json}, '... JSON';
    $appt = $r->json;
    is_deeply [ sort keys %$appt ],
        [ sort qw(id shopId customerId startsAt endsAt status sourceSlotOpeningId cancelledAt
                  createdAt updatedAt customer payment) ],
        '... exactly the documented members';
    like $appt->{id}, qr/^[1-9]\d*$/, '... id is digits';
    is_json_kind($r, 'id', 'string', '... id is a JSON string');
    is_json_kind($r, 'customerId', 'string', '... customerId is a JSON string');
    is $appt->{shopId}, $shop->{id}, '... shopId';
    is $appt->{customerId}, $cust->{id}, '... customerId';
    is $appt->{startsAt}, '2031-03-14T17:30:00Z', '... startsAt';
    is $appt->{endsAt}, '2031-03-14T18:15:00Z', '... endsAt';
    is $appt->{status}, 'booked', '... status booked';
    ok exists $appt->{sourceSlotOpeningId} && !defined $appt->{sourceSlotOpeningId}, '... sourceSlotOpeningId null';
    ok exists $appt->{cancelledAt} && !defined $appt->{cancelledAt}, '... cancelledAt null';
    ok exists $appt->{payment} && !defined $appt->{payment}, '... payment null';
    like $appt->{createdAt}, RFC3339_RE, '... createdAt RFC 3339';
    like $appt->{updatedAt}, RFC3339_RE, '... updatedAt RFC 3339';
    is ref $appt->{customer}, 'HASH', '... customer is an object';
    is_deeply $appt->{customer}, $cust, '... the customer as POST /api/customers answered it';
    is_json_kind($r, 'customer.smsOptIn', 'boolean', '... customer.smsOptIn is a JSON boolean');

    my $row = db_row(q{SELECT *, sr_rfc3339(starts_at) AS s, sr_rfc3339(ends_at) AS e FROM appointments WHERE id = ?},
        $appt->{id});
    ok $row, '... a row in appointments';
    is $row->{shop_id}, $shop->{id}, 'row: shop_id';
    is $row->{customer_id}, $cust->{id}, 'row: customer_id';
    is $row->{s}, '2031-03-14T17:30:00Z', 'row: starts_at';
    is $row->{e}, '2031-03-14T18:15:00Z', 'row: ends_at';
    is $row->{status}, 'booked', 'row: status';
    ok !defined $row->{cancelled_at}, 'row: cancelled_at NULL';
    is db_count('slot_openings'), 0, 'no slot opening';
    is scalar @{ twilio_messages() }, 0, 'no SMS';
}

# --- GET ----------------------------------------------------------------------------------
{
    my $r = api(GET => "/api/appointments/$appt->{id}");
    is $r->status, 200, 'GET /api/appointments/{id}: 200' or diag $r->dump;
    is_deeply $r->json, $appt, '... the same view as the creation';

    $r = api(HEAD => "/api/appointments/$appt->{id}");
    is $r->status, 200, 'HEAD answers too';

    $r = api(GET => '/api/appointments/424242');
    is $r->status, 404, 'GET an unknown appointment: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/appointment/i, '... a JSON error naming the appointment';
}

# --- times with offsets, fractions, lower case -----------------------------------------------
{
    for my $case (
        [ '+01:00 offset',      '2031-06-01T10:00:00+01:00', '2031-06-01T11:30:00+01:00',
          '2031-06-01T09:00:00Z', '2031-06-01T10:30:00Z' ],
        [ '-05:30 offset',      '2031-06-01T10:00:00-05:30', '2031-06-01T12:00:00-05:30',
          '2031-06-01T15:30:00Z', '2031-06-01T17:30:00Z' ],
        [ 'offset across midnight', '2031-06-02T00:30:00+02:00', '2031-06-02T01:00:00+02:00',
          '2031-06-01T22:30:00Z', '2031-06-01T23:00:00Z' ],
        [ 'lower-case t and z', '2031-06-03t09:00:00z', '2031-06-03t09:45:00z',
          '2031-06-03T09:00:00Z', '2031-06-03T09:45:00Z' ],
        [ 'fractional seconds', '2031-06-04T09:00:00.250Z', '2031-06-04T09:30:00.999Z',
          '2031-06-04T09:00:00Z', '2031-06-04T09:30:00Z' ],
        [ 'different offsets on each end', '2031-06-05T09:00:00Z', '2031-06-05T12:00:00+02:00',
          '2031-06-05T09:00:00Z', '2031-06-05T10:00:00Z' ],
    ) {
        my ($label, $s, $e, $want_s, $want_e) = @$case;
        my $r = api(POST => '/api/appointments', {
            shopId => $shop->{id}, customerId => $cust->{id}, startsAt => $s, endsAt => $e });
        is $r->status, 201, "$label: 201" or diag $r->dump;
        is $r->json->{startsAt}, $want_s, "$label: startsAt in UTC";
        is $r->json->{endsAt}, $want_e, "$label: endsAt in UTC";
        my $row = db_row(q{SELECT sr_rfc3339(starts_at) AS s, sr_rfc3339(ends_at) AS e FROM appointments WHERE id = ?},
            $r->json->{id});
        is "$row->{s} $row->{e}", "$want_s $want_e", "$label: stored as that instant";
    }
}

# --- endsAt after startsAt ------------------------------------------------------------------
{
    for my $case (
        [ 'endsAt equal to startsAt', '2031-07-01T10:00:00Z', '2031-07-01T10:00:00Z' ],
        [ 'endsAt before startsAt',   '2031-07-01T10:00:00Z', '2031-07-01T09:00:00Z' ],
        [ 'endsAt before once offsets are applied', '2031-07-01T10:00:00Z', '2031-07-01T11:00:00+02:00' ],
    ) {
        my ($label, $s, $e) = @$case;
        my $before = table_counts();
        my $r = api(POST => '/api/appointments', {
            shopId => $shop->{id}, customerId => $cust->{id}, startsAt => $s, endsAt => $e });
        is $r->status, 400, "$label: 400" or diag $r->dump;
        like $r->json && $r->json->{error}, qr/endsAt/, "$label: the error names endsAt";
        counts_unchanged($before, "$label: nothing written");
    }
}

# --- the customer must be of this shop --------------------------------------------------------
{
    my $before = table_counts();
    my $r = api(POST => '/api/appointments', {
        shopId => $shop->{id}, customerId => $stranger->{id},
        startsAt => '2031-08-01T10:00:00Z', endsAt => '2031-08-01T11:00:00Z' });
    is $r->status, 404, 'customer of another shop: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/customer/i, '... the error names the customer';
    counts_unchanged($before, '... nothing written');

    $r = api(POST => '/api/appointments', {
        shopId => $shop->{id}, customerId => '777777',
        startsAt => '2031-08-01T10:00:00Z', endsAt => '2031-08-01T11:00:00Z' });
    is $r->status, 404, 'unknown customer: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/customer/i, '... the error names the customer';
    counts_unchanged($before, '... nothing written');

    $r = api(POST => '/api/appointments', {
        shopId => '777777', customerId => $cust->{id},
        startsAt => '2031-08-01T10:00:00Z', endsAt => '2031-08-01T11:00:00Z' });
    is $r->status, 404, 'unknown shop: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/shop/i, '... the error names the shop';
    counts_unchanged($before, '... nothing written');

    $r = api(POST => '/api/appointments', {
        shopId => $other->{id}, customerId => $stranger->{id},
        startsAt => '2031-08-01T10:00:00Z', endsAt => '2031-08-01T11:00:00Z' });
    is $r->status, 201, 'the stranger in their own shop: 201' or diag $r->dump;
}

# --- time checks ------------------------------------------------------------------------------
{
    my %ok = (shopId => $shop->{id}, customerId => $cust->{id},
              startsAt => '2031-09-01T10:00:00Z', endsAt => '2031-09-01T11:00:00Z');
    for my $case (
        [ 'missing startsAt',     { startsAt => undef },                  qr/startsAt/ ],
        [ 'missing endsAt',       { endsAt => undef },                    qr/endsAt/ ],
        [ 'startsAt without zone', { startsAt => '2031-09-01T10:00:00' }, qr/startsAt/ ],
        [ 'startsAt a date only', { startsAt => '2031-09-01' },           qr/startsAt/ ],
        [ 'startsAt 30 February', { startsAt => '2031-02-30T10:00:00Z' }, qr/startsAt/ ],
        [ 'startsAt hour 24',     { startsAt => '2031-09-01T24:00:00Z' }, qr/startsAt/ ],
        [ 'startsAt as a number', { startsAt => 1946282400 },             qr/startsAt/ ],
        [ 'endsAt with junk',     { endsAt => '2031-09-01T11:00:00Zjunk' }, qr/endsAt/ ],
        [ 'missing customerId',   { customerId => undef },                qr/customerId/ ],
        [ 'customerId not digits', { customerId => '12a' },               qr/customerId/ ],
    ) {
        my ($label, $over, $re) = @$case;
        my %body = (%ok, %$over);
        delete @body{ grep { !defined $over->{$_} } keys %$over };
        my $before = table_counts();
        my $r = api(POST => '/api/appointments', \%body);
        is $r->status, 400, "$label: 400" or diag $r->dump;
        like $r->json && $r->json->{error}, $re, "$label: the error names the member";
        counts_unchanged($before, "$label: nothing written");
    }
}

done_testing();
