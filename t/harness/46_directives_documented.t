# SPDX-License-Identifier: Apache-2.0
# Every directive the module defines (sr_config.c's table) is in the shipped
# conf/slotrecovery.conf ("every directive, commented") and in the README's
# Directives table, so an addition cannot go undocumented.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use FindBin;

my $root = "$FindBin::Bin/../..";

sub slurp {
    open my $fh, '<', "$root/$_[0]" or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

my $source = slurp('mod_slotrecovery/httpd/sr_config.c');
my %seen;
my @directives = grep { !$seen{$_}++ } $source =~ /"(SlotRecovery[A-Za-z]+)"/g;
my $conf = slurp('conf/slotrecovery.conf');
my $readme = slurp('README.md');

plan tests => 1 + 2 * @directives;
cmp_ok scalar(@directives), '>=', 20, 'the directive table was found in sr_config.c';
for my $d (@directives) {
    like $conf, qr/^\s*#?\s*\Q$d\E\b/m, "conf/slotrecovery.conf shows $d";
    like $readme, qr/^\|[^\n]*`\Q$d\E`/m, "README.md's Directives table has $d";
}
