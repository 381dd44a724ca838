# SPDX-License-Identifier: Apache-2.0
# Redirects and links stay on the site. Mounted at the root of a virtual host
# (<Location />, vhost sr_root) or through a <LocationMatch> (vhost sr_match),
# the path before /app is the client's: GET /%5Cevil.example/app once answered
# "303 Location: /\evil.example/app/appointments", which a browser reads as
# //evil.example/... and follows off-site. Now a mount taken from the request
# path (not a configured <Location>) with anything outside a safe path
# alphabet is refused (404), and every Location and link built from the mount
# is escaped. Each Location and href/src/action is resolved the way a browser
# does (tabs and newlines dropped, "\" read as "/") against the request URL:
# its host and port must be the server's. Normal mounts still redirect.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use HTML::TreeBuilder ();
use URI ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(auth page tree grant);

my @hostile = (
    '/%5Cevil.example/app',
    '/%5Cevil.example/app/',
    '/%5Cevil.example/app/appointments',
    '/%5Cevil.example/app/slot-openings/1',
    '/%5C%5Cevil.example/app',
    '/%5C/evil.example/app',
    '//evil.example/app',
    '//evil.example/app/appointments',
    '/%09/evil.example/app',
    '/%09/evil.example/app/appointments',
    '/%0A/evil.example/app',
    '/%0D%0A/evil.example/app',
    '/%2F/evil.example/app',
    '/evil.example%5C/app',
    '/x/%5C%5Cevil.example/app',
    '/%20%5Cevil.example/app',
    '/%5Cevil.example/api/shops',
);
my @hosts = (undef, 'sr_root', 'sr_match');

plan tests => @hosts * @hostile * 2 + 3 * 2 + 6 * 2 + 2 + 10;

# What a browser makes of a Location or href: WHATWG URL parsing drops tabs
# and newlines anywhere, trims C0 controls and spaces, and reads "\" as "/" in
# http(s) URLs.
sub browser_resolve {
    my ($ref, $base) = @_;
    (my $s = $ref) =~ s/[\t\n\r]//g;
    $s =~ s/^[\x00-\x20]+|[\x00-\x20]+$//g;
    $s =~ tr{\\}{/};
    return URI->new_abs($s, $base);
}

sub on_site {
    my ($ref, $base) = @_;
    my $u = browser_resolve($ref, $base);
    my $b = URI->new($base);
    return $u->can('host') && lc($u->host) eq lc($b->host) && $u->port == $b->port;
}

# GET $path on $host (undef: the main server) as owner1; the response and the URL asked.
sub get_on {
    my ($host, $path) = @_;
    Apache::TestRequest::module($host // 'default');
    my $r = page(owner1 => $path);
    my $url = url($path);
    Apache::TestRequest::module('default');
    return ($r, $url);
}

# Every href, src and action in an HTML body.
sub refs_of {
    my ($r) = @_;
    return () unless ($r->content_type // '') =~ m{^text/html};
    my $t = tree($r);
    my @refs = map { my $e = $_; grep { defined } map { $e->attr($_) } qw(href src action) }
        $t->look_down(sub { 1 });
    $t->delete;
    return @refs;
}

reset_all();
my $shop = make_shop(name => 'Onsite Salon');
grant($shop->{id}, 'owner1');

# --- hostile paths: nothing leads off-site --------------------------------------------------
for my $host (@hosts) {
    my $where = $host // 'main server';
    for my $path (@hostile) {
        my ($r, $url) = get_on($host, $path);
        my $loc = $r->header('Location');
        ok !defined $loc || on_site($loc, $url), "$where GET $path: no off-site Location"
            or diag "status " . $r->status . ", Location: $loc";
        my @off = grep { !on_site($_, $url) } refs_of($r);
        ok !@off, "$where GET $path: no off-site link in the body" or diag "status " . $r->status . ": @off";
    }
}

# --- refused: 404 with a log line, for the mounts the client made up ------------------------
for my $host (qw(sr_root sr_match)) {
    for my $path ('/%5Cevil.example/app', '/%09/evil.example/app', '/%5C%5Cevil.example/app/appointments') {
        my ($r) = get_on($host, $path);
        is $r->status, 404, "$host GET $path: 404" or diag $r->dump;
    }
}
{
    open my $log, '<', Apache::Test::vars('t_logs') . '/error_log' or die "error_log: $!";
    my @lines = grep { /mod_slotrecovery: GET \/\\\\evil\.example\/app: 404/ } <$log>;
    ok @lines >= 1, 'the refusal is logged (mod_slotrecovery: GET /\\evil.example/app: 404 ...)';
    like $lines[-1] // '', qr/mount|path/i, '... saying why';
}

# --- normal mounts still redirect -----------------------------------------------------------
for my $case ([ undef, '/app', '/app/appointments' ],
              [ undef, '/mounted/app', '/mounted/app/appointments' ],
              [ 'sr_root', '/app', '/app/appointments' ],
              [ 'sr_root', '/mounted/app', '/mounted/app/appointments' ],
              [ 'sr_root', '/shop-1/app', '/shop-1/app/appointments' ],
              [ 'sr_match', '/shop-1/app/', '/shop-1/app/appointments' ]) {
    my ($host, $path, $want) = @$case;
    my ($r) = get_on($host, $path);
    is $r->status, 303, ($host // 'main server') . " GET $path: 303" or diag $r->dump;
    is $r->header('Location'), $want, "... Location: $want";
}

# --- a configured <Location> that needs escaping ----------------------------------------------
{
    my ($r) = get_on(undef, '/sp%20ace/app');
    is $r->status, 303, 'GET /sp%20ace/app (<Location "/sp ace">): 303' or diag $r->dump;
    is $r->header('Location'), '/sp%20ace/app/appointments', '... Location escaped: /sp%20ace/app/appointments';
}
{
    my ($r) = get_on(undef, '/sp%20ace/app/appointments');
    is $r->status, 403, 'GET /sp%20ace/app/appointments (no authentication there): 403 page' or diag $r->dump;
    my $t = tree($r);
    is $t->look_down(_tag => 'link', rel => 'stylesheet')->attr('href'), '/sp%20ace/app/assets/slotrecovery.css',
        '... the stylesheet link escaped';
    is $t->look_down(_tag => 'a', class => 'brand')->attr('href'), '/sp%20ace/app/appointments',
        '... the brand link escaped';
    $t->delete;
}

# --- pages under a derived mount still work ---------------------------------------------------
{
    my ($r) = get_on('sr_root', '/shop-1/app/appointments');
    is $r->status, 403, 'sr_root GET /shop-1/app/appointments (no authentication there): 403 page' or diag $r->dump;
    my $t = tree($r);
    is $t->look_down(_tag => 'a', class => 'brand')->attr('href'), '/shop-1/app/appointments',
        '... links under the derived mount /shop-1';
    $t->delete;
    ($r) = get_on('sr_root', '/app/appointments');
    is $r->status, 200, 'sr_root GET /app/appointments as owner1 (the main server\'s <Location /app> auth): 200'
        or diag $r->dump;
    like $r->{html}, qr/Onsite Salon/, '... the shop';
    ($r) = get_on('sr_root', '/api/shops/' . $shop->{id});
    is $r->status, 405, 'sr_root: the API answers at the root too (PATCH-only route: 405)' or diag $r->dump;
}
