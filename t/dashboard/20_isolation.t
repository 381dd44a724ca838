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
use Encode ();
use HTML::TreeBuilder ();
use MIME::Base64 ();
use POSIX qw(floor strftime);
use SlotRecovery::Test qw(:all);

plan tests => 94;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

my $TZ = 'America/New_York';

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

# helpers (each dashboard test carries its own)

sub auth { return +{ Authorization => 'Basic ' . MIME::Base64::encode_base64("$_[0]:secret", '') } }

# GET as a dashboard user (undef: no credentials); ->{html} is the decoded body.
sub page {
    my ($user, $path, %o) = @_;
    my $r = api(GET => $path, undef, no_secret => 1, headers => (defined $user ? auth($user) : {}), %o);
    $r->{html} = Encode::decode('UTF-8', $r->body // '');
    return $r;
}

sub tree {
    my $t = HTML::TreeBuilder->new;
    $t->ignore_unknown(0);
    $t->parse($_[0]{html});
    $t->eof;
    return $t;
}

sub text {
    my ($e) = @_;
    return undef unless $e;
    my $s = $e->as_text;
    $s =~ s/\s+/ /g;
    $s =~ s/^ | $//g;
    return $s;
}

sub badge {
    my ($e) = @_;
    my $b = $e && $e->look_down(_tag => 'span', class => qr/\bbadge\b/);
    return undef unless $b;
    my ($kind) = ($b->attr('class') =~ /\bbadge-(\S+)/);
    return $kind eq $b->as_text ? $kind : "class $kind, text " . $b->as_text;
}

# The body rows of a table: arrayrefs of <td> elements.
sub rows {
    my ($table) = @_;
    return () unless $table;
    my $body = $table->look_down(_tag => 'tbody') || $table;
    return map { [ $_->look_down(_tag => 'td') ] } grep { $_->look_down(_tag => 'td') } $body->look_down(_tag => 'tr');
}

# The offers table of a slot-opening page (the one without a class).
sub offers_table { $_[0]->look_down(_tag => 'table', sub { !defined $_[0]->attr('class') }) }

sub links {
    my ($t, $re) = @_;
    return grep { text($_) =~ $re } $t->look_down(_tag => 'a');
}

sub figures {
    my ($t) = @_;
    # (HTML::TreeBuilder does not keep <div> inside <dl>: pair the dt and dd.)
    my @dt = $t->look_down(_tag => 'dt');
    my @dd = $t->look_down(_tag => 'dd');
    return { map { text($dt[$_]) => text($dd[$_]) } 0 .. $#dt };
}

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

sub local_time {
    my ($epoch, $fmt) = @_;
    local $ENV{TZ} = $TZ;
    POSIX::tzset();
    my $s = strftime($fmt, localtime $epoch);
    POSIX::tzset();
    return $s;
}

sub iso_at { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

sub grant {
    my ($shop_id, $user) = @_;
    my $r = api(POST => "/api/shops/$shop_id/users", { username => $user });
    die "grant $user: " . $r->dump unless $r->status == 201;
}

# POST a form as a dashboard user.
sub post_form {
    my ($user, $path, $form) = @_;
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s };
    my $r = api(POST => $path, undef, no_secret => 1,
        raw => join('&', map { $enc->($_) . '=' . $enc->($form->{$_}) } sort keys %$form),
        content_type => 'application/x-www-form-urlencoded', headers => (defined $user ? auth($user) : {}));
    $r->{html} = Encode::decode('UTF-8', $r->body // '');
    return $r;
}

# Every URL a page points at: href, action, src.
sub urls {
    my ($t) = @_;
    return map { my $e = $_; grep { defined } map { $e->attr($_) } qw(href action src) }
        $t->look_down(sub { defined $_[0]->attr('href') || defined $_[0]->attr('action') || defined $_[0]->attr('src') });
}

sub cancel_api {
    my ($id) = @_;
    my $r = api(POST => "/api/appointments/$id/cancel");
    die 'cancel failed: ' . $r->dump unless $r->status == 200;
    return db_row('SELECT id FROM slot_openings WHERE source_appointment_id = ?', $id)->{id};
}

# A signed inbound SMS (Twilio's webhook) from $from to the shop's number $to.
my $sid_seq;
sub sms_yes {
    my ($from, $to, $body) = @_;
    my $sid = sprintf 'SM%08x%024x', $$, ++$sid_seq;
    my %p = (MessageSid => $sid, SmsMessageSid => $sid, AccountSid => twilio_account_sid(), From => $from,
        To => $to, Body => $body // 'YES', NumMedia => '0', ApiVersion => '2010-04-01');
    my $path = '/api/twilio/inbound';
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s };
    return api(POST => $path, undef, no_secret => 1,
        raw => join('&', map { $enc->($_) . '=' . $enc->($p{$_}) } sort keys %p),
        content_type => 'application/x-www-form-urlencoded',
        headers => { 'X-Twilio-Signature' => twilio_signature(public_base_url() . $path, \%p) });
}
