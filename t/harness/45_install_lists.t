# SPDX-License-Identifier: Apache-2.0
# make install puts every migration where scripts/migrate finds it: the list in
# Makefile.am (automake has no wildcards) names each file of sql/migrations/.
# The source lists name each file of mod_slotrecovery/core/ and
# mod_slotrecovery/httpd/ too (a header left out is missing from `make dist`,
# a .c file from the module): the core's in mod_slotrecovery/core/sources.mk
# (SR_CORE_SOURCES, which Makefile.am includes), the glue's in
# mod_slotrecovery_la_SOURCES. A file in the wrong list is counted missing.
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

sub slurp { my ($f) = @_; open my $in, '<', $f or die "$f: $!"; local $/; return scalar <$in> }
sub files_of {
    my ($dir) = @_;
    opendir my $sh, "$root/mod_slotrecovery/$dir" or die "mod_slotrecovery/$dir: $!";
    my @f = sort map { "$dir/$_" } grep { /\.[ch]$/ } readdir $sh;
    closedir $sh;
    return @f;
}
sub listed_in {
    my ($text, $var) = @_;
    my ($list) = $text =~ m{^\Q$var\E\s*=((?:.*\\\n)*.*)$}m;
    return map { $_ => 1 } ($list // '') =~ m{mod_slotrecovery/((?:core|httpd)/[^\s\\]+\.[ch])}g;
}
my @sources = (files_of('core'), files_of('httpd'));
my %core_listed = listed_in(slurp("$root/mod_slotrecovery/core/sources.mk"), 'SR_CORE_SOURCES');
my %glue_listed = listed_in($makefile, 'mod_slotrecovery_la_SOURCES');
my %sources_listed = ((map { $_ => 1 } grep { m{^core/} } keys %core_listed),
                      (map { $_ => 1 } grep { m{^httpd/} } keys %glue_listed));

plan tests => 3 + @on_disk + @sources;
ok t_cmp(scalar(keys %listed), scalar(@on_disk), 'Makefile.am lists as many migrations as sql/migrations/ holds');
ok t_cmp($listed{$_} // 0, 1, "Makefile.am installs sql/migrations/$_") for @on_disk;
ok t_cmp($sources_listed{$_} // 0, 1, "Makefile.am builds mod_slotrecovery/$_") for @sources;
ok t_cmp($makefile =~ m{^include \$\(srcdir\)/mod_slotrecovery/core/sources\.mk$}m ? 1 : 0, 1,
    'Makefile.am includes the core\'s list');
ok t_cmp(scalar(grep { m{^core/} } keys %glue_listed), 0, 'the module lists no core file itself (it links the core library)');
