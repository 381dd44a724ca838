# make install puts every migration where scripts/migrate finds it: the list in
# Makefile.am (automake has no wildcards) names each file of sql/migrations/.
# The module's source list names each file of mod_slotrecovery/ too (a header
# left out is missing from `make dist`, a .c file from the module).
use strict;
use warnings;

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use FindBin;

my $root = "$FindBin::Bin/../..";
opendir my $dh, "$root/sql/migrations" or die "sql/migrations: $!";
my @on_disk = sort grep { /^\d{3}_.+\.sql$/ } readdir $dh;
closedir $dh;

open my $fh, '<', "$root/Makefile.am" or die "Makefile.am: $!";
my $makefile = do { local $/; <$fh> };
close $fh;
my %listed = map { $_ => 1 } $makefile =~ m{sql/migrations/(\d{3}_[^\s\\]+\.sql)}g;

opendir my $sh, "$root/mod_slotrecovery" or die "mod_slotrecovery: $!";
my @sources = sort grep { /\.[ch]$/ } readdir $sh;
closedir $sh;
my ($source_list) = $makefile =~ m{^mod_slotrecovery_la_SOURCES\s*=((?:.*\\\n)*.*)$}m;
my %sources_listed = map { $_ => 1 } ($source_list // '') =~ m{mod_slotrecovery/([^\s\\]+\.[ch])}g;

plan tests => 1 + @on_disk + @sources;
ok t_cmp(scalar(keys %listed), scalar(@on_disk), 'Makefile.am lists as many migrations as sql/migrations/ holds');
ok t_cmp($listed{$_} // 0, 1, "Makefile.am installs sql/migrations/$_") for @on_disk;
ok t_cmp($sources_listed{$_} // 0, 1, "Makefile.am builds mod_slotrecovery/$_") for @sources;
