# SPDX-License-Identifier: Apache-2.0
# The dashboard's stylesheet and icon are compiled into the module: with no
# SlotRecoveryAssetsDir (t/conf/extra.conf.in sets none) they answer 200 with
# the exact bytes of htdocs/, wherever the .so is loaded from. A throwaway
# httpd with SlotRecoveryAssetsDir shows the override: its files win, a file
# it lacks comes from the built-in copy.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Request ();
use LWP::UserAgent ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(:all);
use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();

my $top = SlotRecovery::TestEnv::top_dir();

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return <$fh>;
}

my %assets = (
    'slotrecovery.css' => qr{^text/css; charset=utf-8$},
    'favicon.svg'      => qr{^image/svg\+xml$},
);

ok !(grep { /^\s*SlotRecoveryAssetsDir/ } split /\n/, slurp(Apache::Test::vars('t_conf') . '/extra.conf')),
    'the suite\'s httpd sets no SlotRecoveryAssetsDir';

for my $name (sort keys %assets) {
    my $want = slurp("$top/htdocs/$name");
    my $path = "/app/assets/$name";
    my $r = page(owner1 => $path);
    is $r->status, 200, "GET $path: 200" or diag $r->dump;
    like $r->content_type // '', $assets{$name}, "... Content-Type " . ($r->content_type // '');
    ok length($want) > 100 && $r->body eq $want, "... the bytes of htdocs/$name (" . length($want) . ')';
    is $r->header('Content-Length'), length $want, '... Content-Length';
    is $r->header('X-Content-Type-Options'), 'nosniff', '... nosniff';
    like $r->header('Cache-Control') // '', qr/max-age=\d+/, '... Cache-Control ' . ($r->header('Cache-Control') // '');
    my $etag = $r->header('ETag');
    like $etag // '', qr/^"[^"]+"$/, '... a strong ETag';
    my $lm = $r->header('Last-Modified');
    ok $lm, '... Last-Modified';

    my $again = page(owner1 => $path);
    is $again->header('ETag'), $etag, '... the same ETag next time';

    $r = api(GET => $path, undef, no_secret => 1, headers => { %{ auth('owner1') }, 'If-None-Match' => $etag // '' });
    is $r->status, 304, '... If-None-Match: 304' or diag $r->dump;
    is $r->body // '', '', '... no body';
    $r = api(GET => $path, undef, no_secret => 1, headers => { %{ auth('owner1') }, 'If-None-Match' => '"other"' });
    is $r->status, 200, '... another ETag: 200';
    $r = api(GET => $path, undef, no_secret => 1, headers => { %{ auth('owner1') }, 'If-Modified-Since' => $lm // '' });
    is $r->status, 304, '... If-Modified-Since: 304' or diag $r->dump;

    $r = api(HEAD => $path, undef, no_secret => 1, headers => auth('owner1'));
    is $r->status, 200, "HEAD $path: 200";
    is $r->body // '', '', '... no body';
    is $r->header('Content-Length'), length $want, '... Content-Length';
}

for my $path ('/app/assets/unknown.css', '/app/assets/slotrecovery.css.bak', '/app/assets/', '/app/assets',
    '/app/assets/FAVICON.SVG', '/app/assets/sub/favicon.svg') {
    my $r = page(owner1 => $path);
    is $r->status, 404, "GET $path: 404" or diag $r->dump;
}

# The mounted dashboard serves the same bytes.
is page(owner1 => '/mounted/app/assets/favicon.svg')->body, slurp("$top/htdocs/favicon.svg"),
    '/mounted/app/assets/favicon.svg: the built-in icon';

# --- SlotRecoveryAssetsDir overrides, file by file ---------------------------------------------
{
    my $port = SlotRecovery::Httpd::free_port();
    my $h = SlotRecovery::Httpd->new(listen => ["127.0.0.1:$port"]);
    mkdir $h->dir . '/override' or die $!;
    chmod 0755, $h->dir . '/override';
    my $css = "/* the shop's own stylesheet */\nbody { color: #123456; }\n";
    $h->write_file('override/slotrecovery.css', $css);
    $h->{body} = <<"EOF";
DBDriver pgsql
DBDParams "host=127.0.0.1 port=9 dbname=none user=none"
SlotRecoveryAssetsDir @{[ $h->dir ]}/override
<Location /app>
    SetHandler slotrecovery
</Location>
EOF
    $h->write_conf;
    $h->start;
    my $ua = LWP::UserAgent->new(timeout => 30);
    my $r = $ua->get("http://127.0.0.1:$port/app/assets/slotrecovery.css");
    is $r->code, 200, 'with SlotRecoveryAssetsDir: GET /app/assets/slotrecovery.css 200' or diag $r->as_string;
    is $r->content, $css, '... the file from SlotRecoveryAssetsDir';
    like $r->header('Content-Type') // '', qr{^text/css}, '... text/css';
    is $r->header('X-Content-Type-Options'), 'nosniff', '... nosniff';
    my $etag = $r->header('ETag');
    like $etag // '', qr/^"[^"]+"$/, '... an ETag';
    $r = $ua->get("http://127.0.0.1:$port/app/assets/slotrecovery.css", 'If-None-Match' => $etag // '');
    is $r->code, 304, '... If-None-Match: 304';

    $r = $ua->get("http://127.0.0.1:$port/app/assets/favicon.svg");
    is $r->code, 200, '... favicon.svg, which the directory lacks: 200' or diag $r->as_string;
    is $r->content, slurp("$top/htdocs/favicon.svg"), '... the built-in icon';

    $r = $ua->get("http://127.0.0.1:$port/app/assets/unknown.css");
    is $r->code, 404, '... an unknown asset: 404';
    $h->stop;
}

done_testing();
