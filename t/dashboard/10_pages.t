# SPDX-License-Identifier: Apache-2.0
# The dashboard's pages with real data: POST /api/shops/{id}/users, /app ->
# /app/appointments, the upcoming appointments, the Slot Recovery figures and
# list (a filled slot opening booked through a signed Twilio YES, an open one
# with a live offer, one that expired for want of an eligible customer), the
# slot-opening and appointment pages, the stylesheet; every time in the shop's
# time zone (Asia/Kolkata, UTC+05:30, so a wrong zone cannot pass).
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(auth page tree text badge rows links figures local_time iso_at cancel_api sms_yes);

plan tests => 123;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

my $TZ = 'Asia/Kolkata';

reset_all();

# --- POST /api/shops/{id}/users ------------------------------------------------
my $shop = make_shop(name => 'Kolkata Cuts', timezone => $TZ, smsFrom => '+15005550101',
    depositAmount => 2000, currency => 'usd');
my $other = make_shop(name => 'Elsewhere', smsFrom => '+15005550102');
{
    my $r = api(POST => "/api/shops/$shop->{id}/users", { username => 'owner1' });
    is $r->status, 201, 'grant owner1: 201' or diag $r->dump;
    is_deeply $r->json, { username => 'owner1', shopId => "$shop->{id}", serverName => lc Apache::Test::vars('servername'),
        realm => '*' }, '... {username, shopId, serverName, realm}: this server, any realm';
    is db_row('SELECT shop_id FROM shop_users WHERE username = ?', 'owner1')->{shop_id}, $shop->{id},
        '... stored in shop_users';

    $r = api(POST => "/api/shops/$shop->{id}/users", { username => 'owner1' });
    is $r->status, 201, 'granting the same shop again: 201 (idempotent)' or diag $r->dump;

    $r = api(POST => "/api/shops/$other->{id}/users", { username => 'owner1' });
    is $r->status, 409, 'the same user for another shop: 409' or diag $r->dump;
    is db_row('SELECT shop_id FROM shop_users WHERE username = ?', 'owner1')->{shop_id}, $shop->{id},
        '... still mapped to the first shop';

    $r = api(POST => '/api/shops/999999/users', { username => 'nobody-here' });
    is $r->status, 404, 'unknown shop: 404' or diag $r->dump;
    is db_count('shop_users WHERE username = ?', 'nobody-here'), 0, '... nothing stored';

    $r = api(POST => "/api/shops/$shop->{id}/users", {});
    is $r->status, 400, 'no username: 400' or diag $r->dump;

    $r = api(POST => "/api/shops/$shop->{id}/users", { username => 'intruder' }, secret => undef);
    is $r->status, 401, 'without x-internal-secret: 401' or diag $r->dump;
    is db_count('shop_users WHERE username = ?', 'intruder'), 0, '... nothing stored';
}

# --- an empty shop -----------------------------------------------------------------
{
    my $r = page(owner1 => '/app');
    is $r->status, 303, 'GET /app: 303' or diag $r->dump;
    is $r->header('Location'), '/app/appointments', '... to /app/appointments';

    $r = page(undef, '/app/appointments');
    is $r->status, 401, 'no credentials: 401 from httpd' or diag $r->dump;
    like $r->header('WWW-Authenticate') // '', qr/^Basic /, '... asking for Basic auth';

    $r = page(owner1 => '/app/appointments');
    is $r->status, 200, 'empty shop: /app/appointments 200' or diag $r->dump;
    like $r->content_type, qr{^text/html; charset=utf-8}i, '... text/html; charset=utf-8';
    my $t = tree($r);
    is text($t->look_down(_tag => 'span', class => 'shop')), 'Kolkata Cuts', '... the shop name in the header';
    like $r->{html}, qr{No upcoming appointments}, '... "No upcoming appointments"';
    like $r->{html}, qr{No slot openings yet}, '... "No slot openings yet"';
    is_deeply figures($t), {
        'Slots opened' => '0', Filled => '0', Expired => '0', 'Recovery rate' => '—',
        'Median time to fill' => '—', 'Deposits collected' => '0.00 USD',
    }, '... figures all zero (no rate, no median)';
    ok !$t->look_down(_tag => 'table', class => 'slots'), '... no slot-openings table';
    is scalar(links($t, qr/Older|Newer/)), 0, '... no paging links';
    $t->delete;
}

# --- data through the real flows ---------------------------------------------------
# Three cancellers (not on the waitlist: no SMS opt-in) and two waitlisted
# customers. T1 and T2 are on two later days at 14:00 and 09:15 UTC (19:30
# and 14:45 in Kolkata).
my $day = floor(time / 86400) * 86400;
my $T1 = $day + 3 * 86400 + 14 * 3600;
my $T2 = $day + 4 * 86400 + 9 * 3600 + 15 * 60;
my %cust;
$cust{$_} = make_customer($shop->{id}, name => $_, smsOptIn => json_false())
    for 'Ann Canceller', 'Ben Canceller', 'Cat Canceller';
$cust{'Wendy Waitlist'} = make_customer($shop->{id}, name => 'Wendy Waitlist', phone => '+15557770001',
    email => 'wendy@example.com', stripeCustomerId => 'cus_wendy', stripePaymentMethodId => 'pm_card_visa');
$cust{'Will Waitlist'} = make_customer($shop->{id}, name => 'Will Waitlist', phone => '+15557770002');
db_do(q{UPDATE customers SET waitlist_joined_at = now() + interval '1 minute' WHERE id = ?},
    $cust{'Will Waitlist'}{id});    # Wendy is first in line

my $a1 = make_appointment($shop->{id}, $cust{'Ann Canceller'}{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 2700));
my $a2 = make_appointment($shop->{id}, $cust{'Ben Canceller'}{id}, startsAt => iso_at($T2), endsAt => iso_at($T2 + 1800));
my $a3 = make_appointment($shop->{id}, $cust{'Cat Canceller'}{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 2700));
my $a4 = make_appointment($shop->{id}, $cust{'Will Waitlist'}{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 2700));

# S1: Ann cancels, Wendy is offered the slot and answers YES (signed webhook).
my $s1 = cancel_api($a1->{id});
my $offer1 = db_row('SELECT * FROM slot_offers WHERE slot_opening_id = ?', $s1);
is $offer1 && $offer1->{customer_id}, $cust{'Wendy Waitlist'}{id}, 'setup: S1 offered to Wendy';
{
    my $r = sms_yes('+15557770001', '+15005550101');
    is $r->status, 200, 'setup: Wendy\'s signed YES answered 200' or diag $r->dump;
}
my $s1row = db_row('SELECT * FROM slot_openings WHERE id = ?', $s1);
is $s1row->{status}, 'filled', 'setup: S1 filled';
my $booking = $s1row->{filled_by_appointment_id};
ok $booking, 'setup: ... by a recovered booking';
is db_row('SELECT status FROM payments WHERE appointment_id = ?', $booking // 0)->{status} // '', 'succeeded',
    'setup: ... whose deposit succeeded at the fake Stripe';
# A known time to fill: 150 s (2 min).
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '150 seconds' WHERE id = ?}, $s1);

# S2: Ben cancels; Wendy (free at T2) gets a live offer; the slot stays open.
my $s2 = cancel_api($a2->{id});
is db_row('SELECT status FROM slot_openings WHERE id = ?', $s2)->{status}, 'open', 'setup: S2 open';
is db_count(q{slot_offers WHERE slot_opening_id = ? AND status = 'sent'}, $s2), 1, 'setup: ... with a sent offer';

# S3: Cat cancels at T1, when Wendy (her booking) and Will (his appointment)
# are both busy: no eligible customer, so it waits for one, without offers,
# until its cutoff expires it (done here in the database).
my $s3 = cancel_api($a3->{id});
is db_row('SELECT status FROM slot_openings WHERE id = ?', $s3)->{status}, 'open', 'setup: S3 waits for a customer';
db_do(q{UPDATE slot_openings SET status = 'expired', expired_at = now(), expired_reason = 'no_eligible_customer'
        WHERE id = ?}, $s3);
my $s3row = db_row('SELECT * FROM slot_openings WHERE id = ?', $s3);
is "$s3row->{status} $s3row->{expired_reason}", 'expired no_eligible_customer', 'setup: ... then expired: no eligible customer';
is db_count('slot_offers WHERE slot_opening_id = ?', $s3), 0, 'setup: ... no offers';

my %created = map { $_ => db_row('SELECT floor(extract(epoch FROM created_at))::bigint AS t FROM slot_openings WHERE id = ?', $_)->{t} }
    $s1, $s2, $s3;

# --- /app/appointments -----------------------------------------------------------------
{
    my $r = page(owner1 => '/app/appointments');
    is $r->status, 200, '/app/appointments: 200' or diag $r->dump;
    my $t = tree($r);

    my @sections = $t->look_down(_tag => 'section');
    is scalar(@sections), 2, 'two sections';
    is text($sections[0]->look_down(_tag => 'h2')), 'Upcoming appointments', '... "Upcoming appointments" first';
    is text($sections[1]->look_down(_tag => 'h2')), 'Slot Recovery', '... then "Slot Recovery"';

    # Upcoming: Wendy's recovered booking and Will's appointment (both at T1,
    # by id), none of the cancelled ones.
    my @up = rows($sections[0]->look_down(_tag => 'table'));
    is scalar(@up), 2, 'upcoming: two appointments (the cancelled ones are not listed)';
    my $when = local_time($T1, '%a %d %b %Y %H:%M', $TZ) . '–' . local_time($T1 + 2700, '%H:%M', $TZ);
    like $when, qr/ 19:30–20:15$/, '(the expected local time is 19:30 in Kolkata)';
    is_deeply [ map { [ text($_->[0]), text($_->[1]), badge($_->[2]) ] } @up ],
        [ [ $when, 'Will Waitlist', 'booked' ], [ $when, 'Wendy Waitlist', 'confirmed' ] ],
        '... when (shop time), customer, status badge; ordered by time then id';
    my ($row_will) = @up;
    is_deeply [ map { $_->attr('href') } $row_will->[3]->look_down(_tag => 'a') ], ["/app/appointments/$a4->{id}"],
        '... a View link to the appointment';
    my $form = $row_will->[3]->look_down(_tag => 'form');
    ok $form, '... a Cancel form';
    is $form && $form->attr('method'), 'post', '... method post';
    is $form && $form->attr('action'), "/app/appointments/$a4->{id}/cancel", '... to .../cancel';
    my $csrf = $form && $form->look_down(_tag => 'input', name => 'csrf');
    is $csrf && $csrf->attr('type'), 'hidden', '... with a hidden csrf field';
    like $csrf && $csrf->attr('value'), qr/^\d+\.[0-9a-f]{64}$/, '... holding a token (issued time and MAC)';
    is text($form && $form->look_down(_tag => 'button')), 'Cancel', '... and a Cancel button';

    # Figures: all dates.
    is_deeply figures($t), {
        'Slots opened' => '3', Filled => '1', Expired => '1', 'Recovery rate' => '33%',
        'Median time to fill' => '2 min', 'Deposits collected' => '20.00 USD',
    }, 'figures: 3 opened, 1 filled, 1 expired, 33%, 2 min, 20.00 USD';

    # The filter form and the export link.
    my $filters = $t->look_down(_tag => 'form', class => 'filters');
    ok $filters, 'a filter form';
    is $filters && $filters->attr('method'), 'get', '... GET';
    is $filters && $filters->attr('action'), '/app/appointments', '... to /app/appointments';
    is_deeply [ map { $_->attr('value') // $_->as_text } $filters->look_down(_tag => 'option') ],
        [ '', 'open', 'filled', 'expired' ], '... status any|open|filled|expired';
    is_deeply [ map { $_->attr('name') . ':' . $_->attr('type') } $filters->look_down(_tag => 'input') ],
        [ 'from:date', 'to:date' ], '... from and to date inputs';
    is_deeply [ map { $_->attr('href') } links($t, qr/^Export CSV$/) ], ['/app/slot-openings.csv?status=&from=&to='],
        '... an "Export CSV" link';

    # The slot openings, newest first.
    my $table = $t->look_down(_tag => 'table', class => 'slots');
    ok $table, 'a slot-openings table';
    is_deeply [ map { text($_) } $table->look_down(_tag => 'th') ], [ 'Time', 'Status', 'Created', 'Booking', '' ],
        '... columns Time, Status, Created, Booking, (links)';
    my @so = rows($table);
    is scalar(@so), 3, '... three rows';
    is_deeply [ map { badge($_->[1]) } @so ], [ 'expired', 'open', 'filled' ], '... newest first: S3, S2, S1';
    like $r->{html}, qr{<span class="badge badge-open">open</span>}, '... <span class="badge badge-open">open</span>';
    like $r->{html}, qr{<span class="badge badge-filled">filled</span>}, '... badge-filled';
    like $r->{html}, qr{<span class="badge badge-expired">expired</span>}, '... badge-expired';
    my $t1 = local_time($T1, '%a %d %b %Y %H:%M', $TZ) . '–' . local_time($T1 + 2700, '%H:%M', $TZ);
    my $t2 = local_time($T2, '%a %d %b %Y %H:%M', $TZ) . '–' . local_time($T2 + 1800, '%H:%M', $TZ);
    is_deeply [ map { text($_->[0]) } @so ], [ $t1, $t2, $t1 ], '... slot times in shop time';
    is_deeply [ map { text($_->[2]) } @so ], [ map { local_time($created{$_}, '%d %b %Y %H:%M', $TZ) } $s3, $s2, $s1 ],
        '... created, in shop time';
    is_deeply [ map { text($_->[3]) } @so[0, 1] ], [ '—', '—' ], '... no booking: an em dash';
    like $so[0][3]->as_HTML, qr{<td>&mdash;</td>}, '... written &mdash;';
    is_deeply [ map { [ $_->as_text, $_->attr('href') ] } $so[2][3]->look_down(_tag => 'a') ],
        [ [ 'View booking', "/app/appointments/$booking" ] ], '... filled: "View booking" -> the recovered booking';
    is_deeply [ map { my @a = $_->[4]->look_down(_tag => 'a'); [ map { [ $_->as_text, $_->attr('href') ] } @a ] } @so ],
        [ map { [ [ 'Details', "/app/slot-openings/$_" ] ] } $s3, $s2, $s1 ], '... "Details" -> /app/slot-openings/{id}';
    is scalar(links($t, qr/Older|Newer/)), 0, '... one page: no paging links';

    like $r->{html}, qr{<link rel="stylesheet" href="/app/assets/slotrecovery\.css">}, 'the page links the stylesheet';
    is $r->header('Cache-Control'), 'no-store', 'Cache-Control: no-store';
    like $r->header('Content-Security-Policy') // '', qr/default-src 'none'/, 'a Content-Security-Policy';
    $t->delete;
}

# --- /app/slot-openings/{id} ------------------------------------------------------------
{
    my $r = page(owner1 => "/app/slot-openings/$s1");
    is $r->status, 200, "filled slot opening $s1: 200" or diag $r->dump;
    my $t = tree($r);
    is text($t->look_down(_tag => 'h1')), "Slot opening $s1 filled", '... heading with the status badge';
    is badge($t->look_down(_tag => 'h1')), 'filled', '... badge-filled';
    my %f = fields($t);
    is $f{Time}{text}, local_time($T1, '%a %d %b %Y %H:%M', $TZ) . '–' . local_time($T1 + 2700, '%H:%M', $TZ),
        '... time range in shop time';
    is $f{Status}{text}, 'filled', '... status';
    is $f{Created}{text}, local_time($created{$s1}, '%d %b %Y %H:%M', $TZ), '... created';
    is_deeply $f{'Cancelled appointment'}{links}, [ [ "#$a1->{id} Ann Canceller", "/app/appointments/$a1->{id}" ] ],
        '... a link to the cancelled source appointment';
    is_deeply $f{'Recovered booking'}{links}, [ [ 'View booking (Wendy Waitlist)', "/app/appointments/$booking" ] ],
        '... a link to the recovered booking';
    ok !exists $f{'Why it expired'}, '... no expiry reason';

    my $o = db_row(q{SELECT floor(extract(epoch FROM sent_at))::bigint AS sent,
                            floor(extract(epoch FROM expires_at))::bigint AS expires FROM slot_offers WHERE id = ?},
        $offer1->{id});
    my @offers = rows(offers_table($t));
    is_deeply [ map { [ map { text($_) } @$_ ] } @offers ],
        [ [ '1', 'Wendy Waitlist', 'accepted', local_time($o->{sent}, '%d %b %H:%M:%S', $TZ),
            local_time($o->{expires}, '%d %b %H:%M:%S', $TZ), '1', '—' ] ],
        '... the offers table: customer, accepted, sent at, expires at (shop time), attempts, no error';
    is badge($offers[0][2]), 'accepted', '... status badge-accepted';
    is_deeply [ map { $_->attr('href') } links($t, qr/All appointments/) ], ['/app/appointments'], '... a link back';
    $t->delete;

    # The open one: a live offer, no booking.
    db_do(q{UPDATE slot_offers SET last_error = 'Twilio 503 once' WHERE slot_opening_id = ?}, $s2);
    $r = page(owner1 => "/app/slot-openings/$s2");
    is $r->status, 200, "open slot opening $s2: 200" or diag $r->dump;
    $t = tree($r);
    %f = fields($t);
    is badge($t->look_down(_tag => 'h1')), 'open', '... badge-open';
    is $f{'Recovered booking'}{text}, '—', '... no recovered booking: an em dash';
    is_deeply $f{'Cancelled appointment'}{links}, [ [ "#$a2->{id} Ben Canceller", "/app/appointments/$a2->{id}" ] ],
        '... the cancelled source appointment';
    @offers = rows(offers_table($t));
    is_deeply [ map { [ text($_->[1]), badge($_->[2]), text($_->[5]), text($_->[6]) ] } @offers ],
        [ [ 'Wendy Waitlist', 'sent', '1', 'Twilio 503 once' ] ], '... one offer: Wendy, sent, 1 attempt, last error';
    $t->delete;

    # The expired one: the reason, no offers.
    $r = page(owner1 => "/app/slot-openings/$s3");
    is $r->status, 200, "expired slot opening $s3: 200" or diag $r->dump;
    $t = tree($r);
    %f = fields($t);
    is badge($t->look_down(_tag => 'h1')), 'expired', '... badge-expired';
    is $f{'Why it expired'}{text}, 'no_eligible_customer', '... why it expired';
    like $r->{html}, qr{No offers sent yet}, '... "No offers sent yet"';
    $t->delete;

    $r = page(owner1 => '/app/slot-openings/987654');
    is $r->status, 404, 'an unknown slot opening: 404' or diag $r->dump;
    like $r->{html}, qr{No such slot opening}, '... an HTML error page';
    like $r->content_type, qr{^text/html}, '... text/html';
    $r = page(owner1 => '/app/slot-openings/abc');
    is $r->status, 404, '/app/slot-openings/abc: 404' or diag $r->dump;
}

# --- /app/appointments/{id} ----------------------------------------------------------------
{
    my $r = page(owner1 => "/app/appointments/$booking");
    is $r->status, 200, "recovered booking $booking: 200" or diag $r->dump;
    my $t = tree($r);
    is text($t->look_down(_tag => 'h1')), "Recovered booking $booking confirmed", '... "Recovered booking N" + badge';
    my %f = fields($t);
    is $f{Time}{text}, local_time($T1, '%a %d %b %Y %H:%M', $TZ) . '–' . local_time($T1 + 2700, '%H:%M', $TZ), '... time';
    is $f{Customer}{text}, 'Wendy Waitlist', '... customer';
    is $f{Phone}{text}, '+15557770001', '... phone';
    is $f{Email}{text}, 'wendy@example.com', '... email';
    is $f{Status}{text}, 'confirmed', '... status';
    is $f{Payment}{text}, 'succeeded 20.00 USD', '... payment status and amount';
    is $f{Payment}{badge}, 'succeeded', '... payment badge-succeeded';
    my $pi = db_row('SELECT stripe_payment_intent_id FROM payments WHERE appointment_id = ?', $booking);
    is $f{'Stripe PaymentIntent'}{text}, $pi->{stripe_payment_intent_id}, '... the PaymentIntent id';
    is_deeply $f{'Recovered from'}{links}, [ [ "Slot opening $s1", "/app/slot-openings/$s1" ] ],
        '... a link to the slot opening it came from';
    $t->delete;

    $r = page(owner1 => "/app/appointments/$a4->{id}");
    is $r->status, 200, "an ordinary appointment: 200" or diag $r->dump;
    $t = tree($r);
    is text($t->look_down(_tag => 'h1')), "Appointment $a4->{id} booked", '... "Appointment N" + badge';
    %f = fields($t);
    is $f{Customer}{text}, 'Will Waitlist', '... customer';
    is $f{Payment}{text}, '—', '... no payment';
    is $f{'Recovered from'}{text}, '—', '... not recovered: an em dash';
    ok $t->look_down(_tag => 'form', action => "/app/appointments/$a4->{id}/cancel"), '... a cancel form';
    $t->delete;

    $r = page(owner1 => "/app/appointments/$a1->{id}");
    is $r->status, 200, 'a cancelled appointment: 200' or diag $r->dump;
    $t = tree($r);
    is badge($t->look_down(_tag => 'h1')), 'cancelled', '... badge-cancelled';
    ok !$t->look_down(_tag => 'form'), '... no cancel form';
    $t->delete;

    $r = page(owner1 => '/app/appointments/987654');
    is $r->status, 404, 'an unknown appointment: 404' or diag $r->dump;
    like $r->{html}, qr{No such appointment}, '... an HTML error page';
}

# --- the stylesheet ---------------------------------------------------------------------------
{
    my $r = page(owner1 => '/app/assets/slotrecovery.css');
    is $r->status, 200, 'GET /app/assets/slotrecovery.css: 200' or diag $r->dump;
    like $r->content_type, qr{^text/css}, '... text/css';
    my $want = do {
        open my $fh, '<:raw', Apache::Test::vars('serverroot') . '/../htdocs/slotrecovery.css' or die $!;
        local $/;
        <$fh>;
    };
    ok length($want) > 100 && $r->body eq $want, '... the built-in copy of htdocs/slotrecovery.css, byte for byte';
    my $lm = $r->header('Last-Modified');
    ok $lm, '... Last-Modified';
    $r = api(GET => '/app/assets/slotrecovery.css', undef, no_secret => 1,
        headers => { %{ auth('owner1') }, 'If-Modified-Since' => $lm // '' });
    is $r->status, 304, '... If-Modified-Since: 304' or diag $r->dump;
}

# ==========================================================================================
# helpers of this test only (the shared ones: SlotRecovery::Dashboard)

# The offers table of a slot-opening page (the one without a class).
sub offers_table { $_[0]->look_down(_tag => 'table', sub { !defined $_[0]->attr('class') }) }

# The <table class="fields"> of a detail page: label => {text, badge, links}.
sub fields {
    my ($t) = @_;
    my $table = $t->look_down(_tag => 'table', class => 'fields') or return ();
    return map {
        my $td = $_->look_down(_tag => 'td');
        text($_->look_down(_tag => 'th')) => {
            text  => text($td),
            badge => badge($td),
            links => [ map { [ text($_), $_->attr('href') ] } $td->look_down(_tag => 'a') ],
        }
    } $table->look_down(_tag => 'tr');
}
