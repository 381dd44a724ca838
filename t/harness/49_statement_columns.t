# SPDX-License-Identifier: Apache-2.0
# Every statement the module prepares declares the result columns its C code
# reads (sr_statement_t.columns, beside the SQL in its domain file). Here
# PostgreSQL describes each statement exactly as the module prepares it
# (bench/tools/sr_statements_dump prints the very tables sr_db.c registers)
# and every declared column must be in that description: a column renamed or
# dropped from the SQL fails here, before any request reads a NULL. The
# other half, C reading a column its statement does not declare, is logged
# by sr_result_get and fails t/run-suite.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use FindBin;
use File::Temp qw(tempdir);
use IPC::Open3 qw(open3);
use Symbol qw(gensym);

use lib "$FindBin::Bin/../lib";
use SlotRecovery::Test qw(decode_json);
use SlotRecovery::TestEnv;

my $root = "$FindBin::Bin/../..";
my $dir  = tempdir(CLEANUP => 1);

my ($psql) = sort { $b cmp $a } glob '/usr/lib/postgresql/*/bin/psql';
plan skip_all => 'no psql under /usr/lib/postgresql' unless $psql;

system("$root/bench/tools/build-statements-dump", "$dir/dump") == 0
    or BAIL_OUT('bench/tools/build-statements-dump failed');
my @statements = map { decode_json($_) } split /\n/, `$dir/dump`;

plan tests => 1 + @statements;
cmp_ok scalar(@statements), '>=', 80, 'the dumper printed the module\'s statements';

# apr_dbd_pgsql's placeholders (%s, %d, ...) become $1..$n, %% a literal %.
sub server_sql {
    my ($sql) = @_;
    my $n = 0;
    $sql =~ s/(%%|%[a-zA-Z])/$1 eq '%%' ? '%' : '$' . ++$n/ge;
    return $sql;
}

# psql's \gdesc prepares the query (unnamed, nothing runs) and prints each
# result column as "name|type".
sub describe {
    my ($sql) = @_;
    my @cmd = ($psql, '-X', '-At', '-v', 'ON_ERROR_STOP=1',
        '-h', SlotRecovery::TestEnv::get('SR_PG_HOST'), '-p', SlotRecovery::TestEnv::get('SR_PG_PORT'),
        '-U', SlotRecovery::TestEnv::get('SR_PG_USER'), '-d', SlotRecovery::TestEnv::get('SR_PG_DB'));
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, @cmd);
    print {$in} server_sql($sql), " \\gdesc\n";
    close $in;
    my @lines = <$out>;
    my $stderr = join '', <$err>;
    waitpid $pid, 0;
    return (undef, $stderr) if $?;
    return ([map { (split /\|/)[0] } grep { /\S/ } map { chomp; $_ } @lines], undef);
}

for my $st (@statements) {
    my ($described, $error) = describe($st->{sql});
    if (!$described) {
        fail("$st->{label} is described by PostgreSQL");
        diag($error);
        next;
    }
    my %have = map { $_ => 1 } @$described;
    my @declared = defined $st->{columns} ? split(/,/, $st->{columns}) : ();
    my @missing = grep { !$have{$_} } @declared;
    ok !@missing, "$st->{label}: its result has every declared column"
        . (@declared ? " (@declared)" : ' (none declared)')
        or diag("missing: @missing; PostgreSQL describes: @$described");
}
