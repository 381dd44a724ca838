# SPDX-License-Identifier: Apache-2.0
# The server starts without noise: the test configuration has virtual hosts
# (t/conf/extra.conf.in), and registering the statements once per server made
# mod_dbd warn "conflicting SQL statements" (AH02653) for each of them in each
# virtual host that shares the main server's database configuration.
use strict;
use warnings;

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use File::Spec;

plan tests => 3;

my $log = File::Spec->catfile(Apache::Test::vars('t_logs'), 'error_log');
open my $fh, '<', $log or die "cannot read $log: $!";
my @lines = <$fh>;
close $fh;

ok t_cmp(scalar(grep { /AH02653|conflicting SQL statements/ } @lines), 0,
         'no "conflicting SQL statements" warning at start-up');
ok t_cmp(scalar(grep { /mod_dbd is not loaded|cannot register the sweep/ } @lines), 0,
         'the module registered its statements and the sweep');
ok t_cmp(scalar(grep { /\[slotrecovery:(?:crit|alert|emerg)\]/ } @lines), 0,
         'no critical line from the module');
