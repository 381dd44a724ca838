# SPDX-License-Identifier: Apache-2.0
# Who sees what: a shop's pages are only its owner's. Another shop's ids read
# like ids that do not exist (404), an authenticated user without a shop gets
# 403, a <Location> without authentication (/noauth/app) gets 403 even when
# credentials are sent, a wrong password is httpd's 401; and under
# /mounted/app every link, form and the stylesheet carry the /mounted prefix
# and work.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use MIME::Base64 ();
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(page tree text rows links figures iso_at grant post_form cancel_api sms_yes);

plan tests => 94;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

reset_all();

# Shop A (owner1): a filled slot opening with its recovered booking, an open
# one, and a booked appointment. Shop B (owner2): one open slot opening.
my $A = make_shop(name => 'Alpha Barbers', smsFrom => '+15005550201');
my $B = make_shop(name => 'Beta Nails', smsFrom => '+15005550202');
grant($A->{id}, 'owner1');
grant($B->{id}, 'owner2');

my $day = floor(time / 86400) * 86400;
my %t = map { $_ => $day + ($_ + 2) * 86400 + 15 * 3600 } 1 .. 4;

my $a_canc1 = make_customer($A->{id}, name => 'Alpha Canceller One', smsOptIn => json_false());
my $a_canc2 = make_customer($A->{id}, name => 'Alpha Canceller Two', smsOptIn => json_false());
my $a_wait  = make_customer($A->{id}, name => 'Alpha Waiter', phone => '+15557771001',
    stripeCustomerId => 'cus_alpha', stripePaymentMethodId => 'pm_card_visa');
my $b_canc  = make_customer($B->{id}, name => 'Beta Canceller', smsOptIn => json_false());
my $b_wait  = make_customer($B->{id}, name => 'Beta Waiter', phone => '+15557772001');

my $a1 = make_appointment($A->{id}, $a_canc1->{id}, startsAt => iso_at($t{1}), endsAt => iso_at($t{1} + 1800));
my $a2 = make_appointment($A->{id}, $a_canc2->{id}, startsAt => iso_at($t{2}), endsAt => iso_at($t{2} + 1800));
my $a3 = make_appointment($A->{id}, $a_canc2->{id}, startsAt => iso_at($t{3}), endsAt => iso_at($t{3} + 1800));
my $b1 = make_appointment($B->{id}, $b_canc->{id}, startsAt => iso_at($t{1}), endsAt => iso_at($t{1} + 1800));
my $b2 = make_appointment($B->{id}, $b_canc->{id}, startsAt => iso_at($t{4}), endsAt => iso_at($t{4} + 1800));

my $sa1 = cancel_api($a1->{id});
is sms_yes('+15557771001', '+15005550201')->status, 200, 'setup: Alpha Waiter says YES';
my $booking = db_row('SELECT filled_by_appointment_id AS id FROM slot_openings WHERE id = ?', $sa1)->{id};
ok $booking, 'setup: shop A has a recovered booking';
my $sa2 = cancel_api($a2->{id});
my $sb1 = cancel_api($b1->{id});
is db_row('SELECT shop_id FROM slot_openings WHERE id = ?', $sb1)->{shop_id}, $B->{id}, 'setup: shop B has a slot opening';

# --- each owner sees their own shop only ---------------------------------------------
{
    my $r = page(owner1 => '/app/appointments');
    is $r->status, 200, 'owner1: 200' or diag $r->dump;
    my $t = tree($r);
    is text($t->look_down(_tag => 'span', class => 'shop')), 'Alpha Barbers', '... shop A in the header';
    unlike $r->{html}, qr/Beta/, '... nothing of shop B';
    is_deeply [ sort map { $_->attr('href') } links($t, qr/^Details$/) ],
        [ sort map { "/app/slot-openings/$_" } $sa1, $sa2 ], '... shop A\'s slot openings only';
    is figures($t)->{'Slots opened'}, 2, '... figures count shop A only';
    $t->delete;

    $r = page(owner2 => '/app/appointments');
    is $r->status, 200, 'owner2: 200' or diag $r->dump;
    $t = tree($r);
    is text($t->look_down(_tag => 'span', class => 'shop')), 'Beta Nails', '... shop B in the header';
    unlike $r->{html}, qr/Alpha/, '... nothing of shop A';
    is_deeply [ map { $_->attr('href') } links($t, qr/^Details$/) ], ["/app/slot-openings/$sb1"],
        '... shop B\'s slot opening only';
    is_deeply [ map { text($_->[1]) } rows($t->look_down(_tag => 'section')->look_down(_tag => 'table')) ],
        ['Beta Canceller'], '... shop B\'s upcoming appointment only';
    is_deeply figures($t), { 'Slots opened' => 1, Filled => 0, Expired => 0, 'Recovery rate' => '0%',
        'Median time to fill' => '—', 'Deposits collected' => '0.00 USD' }, '... figures of shop B';
    $t->delete;

    $r = page(owner2 => '/app/slot-openings.csv');
    is $r->status, 200, 'owner2 CSV: 200' or diag $r->dump;
    my @lines = split /\r\n/, $r->body;
    is scalar(@lines), 2, '... header and one row';
    like $lines[1] // '', qr/^\Q$sb1\E,/, '... shop B\'s slot opening';
    unlike $r->body, qr/Alpha/, '... nothing of shop A';
}

# --- another shop's ids are 404, exactly like ids that do not exist ----------------------
{
    my $none = page(owner2 => '/app/appointments/987654');
    for my $case ([ "A's appointment", "/app/appointments/$a3->{id}", 'appointment' ],
                  [ "A's recovered booking", "/app/appointments/$booking", 'appointment' ],
                  [ "A's cancelled appointment", "/app/appointments/$a1->{id}", 'appointment' ],
                  [ "A's slot opening", "/app/slot-openings/$sa1", 'slot opening' ]) {
        my ($what, $path, $noun) = @$case;
        my $r = page(owner2 => $path);
        is $r->status, 404, "owner2 GET $what: 404" or diag $r->dump;
        like $r->{html}, qr{<p>No such \Q$noun\E\.</p>}, '... "No such ..."';
        unlike $r->{html}, qr/Alpha/, '... no name of shop A';
    }
    my $r = page(owner2 => "/app/slot-openings/$sa1");
    my $unknown = page(owner2 => '/app/slot-openings/987654');
    is $r->body, $unknown->body, 'the 404 for another shop\'s slot opening is the same page as for an unknown id';
    $r = page(owner2 => "/app/appointments/$a3->{id}");
    is $r->body, $none->body, '... and for an appointment';

    # Cancelling shop A's appointment with owner2's own (valid) token.
    my $t = tree(page(owner2 => '/app/appointments'));
    my $csrf = $t->look_down(_tag => 'input', name => 'csrf')->attr('value');
    $t->delete;
    $r = post_form(owner2 => "/app/appointments/$a3->{id}/cancel", { csrf => $csrf });
    is $r->status, 404, 'owner2 POST cancel of shop A\'s appointment: 404' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $a3->{id})->{status}, 'booked', '... still booked';
    is db_count('slot_openings WHERE source_appointment_id = ?', $a3->{id}), 0, '... no slot opened';

    # owner1 sees them.
    is page(owner1 => "/app/slot-openings/$sa1")->status, 200, 'owner1 sees the slot opening';
    is page(owner1 => "/app/appointments/$booking")->status, 200, 'owner1 sees the booking';
    is page(owner1 => "/app/slot-openings/$sb1")->status, 404, 'owner1 GET shop B\'s slot opening: 404';
}

# --- a user without a shop: 403 -------------------------------------------------------------
{
    for my $path ('/app/appointments', "/app/appointments/$a3->{id}", "/app/slot-openings/$sa1",
                  '/app/slot-openings.csv', '/app/appointments?status=bogus') {
        my $r = page(stranger => $path);
        is $r->status, 403, "stranger (no shop) GET $path: 403" or diag $r->dump;
        like $r->{html}, qr{This user has no shop}, '... says the user has no shop';
        unlike $r->{html}, qr/Alpha|Beta/, '... and shows no shop';
    }
    my $r = post_form(stranger => "/app/appointments/$a3->{id}/cancel", { csrf => 'x' x 64 });
    is $r->status, 403, 'stranger POST cancel: 403' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $a3->{id})->{status}, 'booked', '... still booked';

    $r = api(GET => '/app/appointments', undef, no_secret => 1,
        headers => { Authorization => 'Basic ' . MIME::Base64::encode_base64('owner1:wrong', '') });
    is $r->status, 401, 'owner1 with a wrong password: 401' or diag $r->dump;
    unlike $r->body // '', qr/Alpha/, '... nothing of shop A';
}

# --- no authentication configured (/noauth/app): 403 -------------------------------------------
{
    for my $path ('/noauth/app/appointments', "/noauth/app/appointments/$a3->{id}",
                  "/noauth/app/slot-openings/$sa1", '/noauth/app/slot-openings.csv') {
        my $r = page(undef, $path);
        is $r->status, 403, "GET $path without a user: 403" or diag $r->dump;
        like $r->{html}, qr{Sign-in required}, '... "Sign-in required"';
        $r = page(owner1 => $path);
        is $r->status, 403, '... also with owner1\'s credentials sent (nothing authenticates them there)'
            or diag $r->dump;
        unlike $r->{html}, qr/Alpha|Beta/, '... no shop shown';
    }
    my $r = post_form(owner1 => "/noauth/app/appointments/$a3->{id}/cancel", { csrf => 'x' x 64 });
    is $r->status, 403, 'POST /noauth/app/.../cancel: 403' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $a3->{id})->{status}, 'booked', '... still booked';
}

# --- mounted under /mounted -------------------------------------------------------------------
{
    my $r = page(owner1 => '/mounted/app');
    is $r->status, 303, 'GET /mounted/app: 303' or diag $r->dump;
    is $r->header('Location'), '/mounted/app/appointments', '... to /mounted/app/appointments';

    is page(undef, '/mounted/app/appointments')->status, 401, '/mounted/app without credentials: 401';

    $r = page(owner1 => '/mounted/app/appointments?page=2');
    my $p2 = tree($r);
    is_deeply [ map { $_->attr('href') } links($p2, qr/Newer/) ],
        ['/mounted/app/appointments?status=&from=&to=&page=1'], 'page 2: the "← Newer" link is prefixed';
    $p2->delete;

    $r = page(owner1 => '/mounted/app/appointments');
    is $r->status, 200, 'GET /mounted/app/appointments as owner1: 200' or diag $r->dump;
    my $t = tree($r);
    is text($t->look_down(_tag => 'span', class => 'shop')), 'Alpha Barbers', '... shop A';
    my @urls = urls($t);
    ok @urls >= 8, '... links, forms and the stylesheet (' . scalar(@urls) . ')';
    is_deeply [ grep { !m{^/mounted/app(?:/|$)} } @urls ], [], '... every one under /mounted/app/';
    ok((grep { $_ eq '/mounted/app/assets/slotrecovery.css' } @urls), '... the stylesheet');
    ok((grep { $_ eq "/mounted/app/appointments/$booking" } @urls), '... "View booking"');
    ok((grep { $_ eq "/mounted/app/slot-openings/$sa1" } @urls), '... "Details"');
    ok((grep { $_ eq "/mounted/app/appointments/$a3->{id}/cancel" } @urls), '... the cancel form');
    ok((grep { $_ eq '/mounted/app/slot-openings.csv?status=&from=&to=' } @urls), '... "Export CSV"');
    $t->delete;

    # Follow every GET link, then the links of the detail pages.
    my (%seen, @bad);
    my @queue = grep { !m{/cancel$} } @urls;
    while (defined(my $u = shift @queue)) {
        next if $seen{$u}++;
        my $res = page(owner1 => $u);
        push @bad, "$u: " . $res->status unless $res->status == 200;
        if ($res->status == 200 && ($res->content_type // '') =~ m{^text/html}) {
            my $tt = tree($res);
            for my $v (urls($tt)) {
                push @bad, "$u links to $v" unless $v =~ m{^/mounted/app(?:/|$)};
                push @queue, $v unless $v =~ m{/cancel$} || $seen{$v};
            }
            $tt->delete;
        }
    }
    is_deeply \@bad, [], 'every page reached from /mounted/app/appointments answers 200 and links under /mounted/app/';
    ok $seen{"/mounted/app/slot-openings/$sa1"} && $seen{"/mounted/app/appointments/$a1->{id}"}
        && $seen{"/mounted/app/appointments/$booking"}, '... including the detail pages and their links ('
        . scalar(keys %seen) . ' URLs)';

    $r = page(owner1 => '/mounted/app/assets/slotrecovery.css');
    is $r->status, 200, 'the mounted stylesheet: 200';
    like $r->content_type, qr{^text/css}, '... text/css';

    $r = page(owner2 => "/mounted/app/slot-openings/$sa1");
    is $r->status, 404, 'owner2 under /mounted: shop A\'s slot opening is 404 too' or diag $r->dump;
    $r = page(stranger => '/mounted/app/appointments');
    is $r->status, 403, 'stranger under /mounted: 403' or diag $r->dump;
}

# helpers of this test only (the shared ones: SlotRecovery::Dashboard)

# Every URL a page points at: href, action, src.
sub urls {
    my ($t) = @_;
    return map { my $e = $_; grep { defined } map { $e->attr($_) } qw(href action src) }
        $t->look_down(sub { defined $_[0]->attr('href') || defined $_[0]->attr('action') || defined $_[0]->attr('src') });
}
