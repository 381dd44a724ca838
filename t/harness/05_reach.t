# SPDX-License-Identifier: Apache-2.0
# httpd's children (User: nobody when the suite runs as root) reach everything
# they read at request time, wherever the checkout is (a clone in /root, 0700,
# answered 403 AH00035 to every request): the DocumentRoot, every AuthUserFile
# and SlotRecoveryAssetsDir. And the check t/TEST.PL runs before it starts httpd
# names what is in the way.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use File::Spec::Functions qw(catfile);
use File::Temp ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(page);
use SlotRecovery::TestEnv ();

plan tests => 13;

my $vars = Apache::Test::config()->{vars};
my $user = $vars->{user};

# --- the check itself ---------------------------------------------------------------------
SKIP: {
    skip 'trying paths as another user needs root', 6 unless $> == 0;
    my $base = File::Temp::tempdir('sr-reach.XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $base or die $!;
    mkdir "$base/private", 0700 or die $!;
    mkdir "$base/private/site", 0755 or die $!;
    my $file = "$base/private/site/htpasswd";
    open my $fh, '>', $file or die $!;
    close $fh;
    chmod 0644, $file or die $!;

    my @bad = SlotRecovery::TestEnv::unreachable($user, $file);
    is scalar(@bad), 1, "a file behind a 0700 directory: out of $user\'s reach";
    is $bad[0][1], "$base/private", '... the 0700 directory is what is in the way';
    like $bad[0][2], qr/^drwx------ root:/, '... with its mode and owner';

    chmod 0755, "$base/private" or die $!;
    is_deeply [ SlotRecovery::TestEnv::unreachable($user, $file, "$base/private/site") ], [],
        'every directory searchable, the file readable: nothing in the way';

    chmod 0600, $file or die $!;
    @bad = SlotRecovery::TestEnv::unreachable($user, $file);
    is $bad[0][1], $file, 'a file only root reads: the file itself is in the way';
    @bad = SlotRecovery::TestEnv::unreachable('root', $file);
    is scalar(@bad), 0, '... not for root';
}

# --- the running server -------------------------------------------------------------------
my @paths = ($vars->{documentroot});
{
    open my $fh, '<', catfile($vars->{t_conf}, 'extra.conf') or die $!;
    while (<$fh>) {
        push @paths, $1 if /^\s*(?:AuthUserFile|SlotRecoveryAssetsDir)\s+"?([^"\s]+)/;
    }
    close $fh;
}
ok @paths >= 3, 'DocumentRoot, AuthUserFile and SlotRecoveryAssetsDir found in the configuration'
    or diag explain \@paths;
ok !(grep { !-e } @paths), '... and they exist' or diag explain [ grep { !-e } @paths ];
SKIP: {
    skip "not root: the children run as $user, who ran the suite", 1 unless $> == 0;
    is_deeply [ SlotRecovery::TestEnv::unreachable($user, @paths) ], [], "$user reaches all of them"
        or diag explain [ SlotRecovery::TestEnv::unreachable($user, @paths) ];
}

# What the children read, read by them: a file under the DocumentRoot, the
# htpasswd file (Basic auth), the dashboard's stylesheet.
{
    my $r = api(GET => '/index.html', undef, no_secret => 1);
    is $r->status, 200, 'GET /index.html (the DocumentRoot): 200' or diag $r->dump;
    $r = page(owner1 => '/app/assets/slotrecovery.css');
    is $r->status, 200, 'the stylesheet behind Basic auth: 200' or diag $r->dump;
    $r = api(GET => '/app/assets/slotrecovery.css', undef, no_secret => 1,
        headers => { Authorization => 'Basic ' . MIME::Base64::encode_base64('owner1:wrong', '') });
    is $r->status, 401, '... a wrong password: 401 (the htpasswd file was read)' or diag $r->dump;
    $r = api(GET => '/api/does-not-exist');
    isnt $r->status, 403, 'an /api request is not refused by a directory walk' or diag $r->dump;
}
