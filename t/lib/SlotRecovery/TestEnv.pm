# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::TestEnv;

# The one place where the test suite's fixed secrets and default settings live.
#
# t/run-suite exports the ports (SR_PG_PORT, SR_TWILIO_PORT, SR_STRIPE_PORT) and
# SR_MODULE_SO; t/TEST calls init() before it starts httpd, which fills in
# every SR_* variable that is still unset. httpd expands ${SR_...} in
# t/conf/extra.conf at parse time, and SlotRecovery::Test reads the same
# variables, so the server and the tests always agree.

use strict;
use warnings;

use Fcntl qw(S_ISDIR);
use File::Basename qw(dirname);
use File::Spec::Functions qw(catfile rel2abs);

my $top = rel2abs(catfile(dirname(__FILE__), '..', '..', '..'));

our %DEFAULTS = (
    SR_PG_HOST               => '127.0.0.1',
    SR_PG_PORT               => '5432',
    SR_PG_DB                 => 'slotrecovery',
    SR_PG_USER               => 'postgres',
    SR_TWILIO_PORT           => '9',       # discard: nothing listens unless run-suite started a stand-in
    SR_STRIPE_PORT           => '9',
    SR_MODULE_SO             => catfile($top, '.libs', 'mod_slotrecovery.so'),
    SR_DBD_SO                => '/usr/lib/apache2/modules/mod_dbd.so',
    SR_INTERNAL_SECRET       => 'test-internal-secret-0123456789abcdef',
    SR_TWILIO_ACCOUNT_SID    => 'AC' . ('0123456789abcdef' x 2),
    SR_TWILIO_AUTH_TOKEN     => 'test-twilio-auth-token-0123456789',
    SR_STRIPE_SECRET_KEY     => 'sk_test_slotrecovery0123456789',
    SR_STRIPE_WEBHOOK_SECRET => 'whsec_test_slotrecovery0123456789',
);

# Sets every SR_* variable that is not set yet; returns the names it set.
sub init {
    my @set;
    for my $name (sort keys %DEFAULTS) {
        next if defined $ENV{$name} && length $ENV{$name};
        $ENV{$name} = $DEFAULTS{$name};
        push @set, $name;
    }
    return @set;
}

sub get {
    my ($name) = @_;
    die "unknown setting $name" unless exists $DEFAULTS{$name};
    return defined $ENV{$name} && length $ENV{$name} ? $ENV{$name} : $DEFAULTS{$name};
}

sub top_dir { $top }

# unreachable($user, @paths): for each path that $user cannot read (or search,
# for a directory) because of it or of a directory on the way, [path, the first
# path in the way, its mode "drwx------ root:root"]. Asks scripts/lib.sh's
# sr_unreachable, which tries as $user (runuser: root only).
sub unreachable {
    my ($user, @paths) = @_;
    my @bad;
    for my $path (@paths) {
        open my $fh, '-|', 'bash', '-c', '. "$1"; sr_unreachable "$2" "$3"', 'sr_unreachable',
            catfile($top, 'scripts', 'lib.sh'), $user, $path
            or die "cannot run bash: $!";
        chomp(my $blocker = do { local $/; <$fh> } // '');
        close $fh;
        next unless length $blocker;
        my @st = stat $blocker;
        my $mode = @st
            ? sprintf('%s %s:%s', _mode_string($st[2]), scalar(getpwuid $st[4]) // $st[4], scalar(getgrgid $st[5]) // $st[5])
            : 'missing';
        push @bad, [ $path, $blocker, $mode ];
    }
    return @bad;
}

sub _mode_string {
    my ($mode) = @_;
    my $s = S_ISDIR($mode) ? 'd' : '-';
    for my $shift (6, 3, 0) {
        my $bits = ($mode >> $shift) & 7;
        $s .= ($bits & 4 ? 'r' : '-') . ($bits & 2 ? 'w' : '-') . ($bits & 1 ? 'x' : '-');
    }
    return $s;
}

1;
