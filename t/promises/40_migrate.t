# SPDX-License-Identifier: Apache-2.0
# README, Installing: `scripts/migrate` "applies what is pending; safe to
# re-run"; `--status` "lists applied and pending migrations"; "under an
# advisory lock (two servers upgrading at once apply each exactly once)".
# On new databases of the suite's cluster (dropped at the end).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use File::Basename qw(basename);
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use SlotRecovery::Test qw(:all);

cannot_run('no psql') unless grep { -x "$_/psql" } split /:/, $ENV{PATH};

my $top = SlotRecovery::TestEnv::top_dir();
my @files = sort map { basename($_, '.sql') } glob "$top/sql/migrations/[0-9][0-9][0-9]_*.sql";
ok @files >= 5, scalar(@files) . ' migrations in sql/migrations';

my %pg = map { $_ => SlotRecovery::TestEnv::get("SR_PG_$_") } qw(HOST PORT USER);
my @dbs;
END { for my $d (@dbs) { eval { db()->do(qq{DROP DATABASE IF EXISTS "$d" WITH (FORCE)}) } } }

sub new_db {
    my ($tag) = @_;
    my $name = "sr_promises_${tag}_$$";
    local db()->{PrintWarn} = 0;    # no NOTICE for the database that does not exist
    db()->do(qq{DROP DATABASE IF EXISTS "$name"});
    db()->do(qq{CREATE DATABASE "$name"});
    push @dbs, $name;
    return $name;
}
sub conninfo { "host=$pg{HOST} port=$pg{PORT} dbname=$_[0] user=$pg{USER}" }

sub dbh_of {
    my ($name) = @_;
    require DBI;
    return DBI->connect("dbi:Pg:dbname=$name;host=$pg{HOST};port=$pg{PORT}", $pg{USER}, '',
        { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
}

# Starts scripts/migrate; returns its pid and a handle on its output (stdout + stderr).
sub spawn_migrate {
    my @args = @_;
    my $out = gensym;
    my $pid = open3(my $in, $out, undef, "$top/scripts/migrate", @args);
    close $in;
    return ($pid, $out);
}

sub finish {
    my ($pid, $out) = @_;
    local $/;
    my $text = <$out> // '';
    waitpid $pid, 0;
    return ($? >> 8, $text);
}

sub migrate { finish(spawn_migrate(@_)) }

sub ledger {
    my ($dbh) = @_;
    return [ map { "$_->[0]_$_->[1]" } @{ $dbh->selectall_arrayref('SELECT version, name FROM schema_migrations ORDER BY version') } ];
}

# --- a fresh database: --status lists all pending and applies nothing -------------------
my $db = new_db('fresh');
my ($rc, $out) = migrate('--status', conninfo($db));
is $rc, 0, '--status on an empty database: exit 0' or diag $out;
is_deeply [ $out =~ /^pending\s+(\S+)$/mg ], \@files, '... every migration listed as pending, in order' or diag $out;
is_deeply [ $out =~ /^applied\s+(\S+)$/mg ], [], '... none as applied';
my $dbh = dbh_of($db);
is_deeply ledger($dbh), [], '... and none was applied';
ok !$dbh->selectrow_array(q{SELECT to_regclass('public.shops')}), '... no table of the schema exists';

# --- apply, re-run, --status ------------------------------------------------------------
($rc, $out) = migrate(conninfo($db));
is $rc, 0, 'migrate: exit 0' or diag $out;
is_deeply [ $out =~ /^migration (\S+): applied$/mg ], \@files, '... applied every migration once, in order' or diag $out;
is_deeply ledger($dbh), \@files, '... each one recorded in schema_migrations';
my $tables = $dbh->selectrow_array(q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'});

($rc, $out) = migrate(conninfo($db));
is $rc, 0, 're-run: exit 0' or diag $out;
is $out, "migrate: schema is up to date\n", '... says "schema is up to date" and nothing else' or diag $out;
is_deeply ledger($dbh), \@files, '... the ledger unchanged';
is $dbh->selectrow_array(q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'}), $tables, '... no table added';

($rc, $out) = migrate('--status', conninfo($db));
is $rc, 0, '--status: exit 0';
is_deeply [ $out =~ /^applied\s+(\S+)$/mg ], \@files, '... every migration applied';
unlike $out, qr/^pending/m, '... none pending';

# A partly migrated database (the last migration not yet applied): --status says which.
my $partial = new_db('partial');
{
    my $pdbh = dbh_of($partial);
    ($rc, $out) = migrate(conninfo($partial));
    is $rc, 0, 'setup: a second database migrated' or diag $out;
    # Stands for a release that adds one: forget the last one in the ledger only.
    my ($v) = $files[-1] =~ /^(\d+)/;
    $pdbh->do('DELETE FROM schema_migrations WHERE version = ?', undef, $v);
    ($rc, $out) = migrate('--status', conninfo($partial));
    is_deeply [ $out =~ /^pending\s+(\S+)$/mg ], [ $files[-1] ], "--status: $files[-1] pending" or diag $out;
    is_deeply [ $out =~ /^applied\s+(\S+)$/mg ], [ @files[0 .. $#files - 1] ], '... the others applied';
    $pdbh->disconnect;
}

# Bad usage.
($rc, $out) = migrate();
is $rc, 2, 'no conninfo: exit 2';
like $out, qr/usage: scripts\/migrate/, '... with the usage';

# --- two migrators at once -----------------------------------------------------------------
# The test holds the migrations' advisory lock while both start, so both are
# provably running (waiting on that lock) at the same time; then lets go.
sub race_ok {
    my ($name, $label) = @_;
    my $rdbh = dbh_of($name);
    $rdbh->selectrow_array(q{SELECT pg_advisory_lock(hashtext('mod_slotrecovery migrations'))});
    my @runs = map { [ spawn_migrate(conninfo($name)) ] } 1 .. 2;
    my $waiting = wait_until(sub {
        $rdbh->selectrow_array(q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())}) == 2
    }, timeout => 60);
    ok $waiting, "$label: both migrators run at once (both wait on the advisory lock)";
    $rdbh->selectrow_array(q{SELECT pg_advisory_unlock(hashtext('mod_slotrecovery migrations'))});
    my @results = map { [ finish(@$_) ] } @runs;
    is $results[0][0], 0, "$label: migrator 1: exit 0" or diag $results[0][1];
    is $results[1][0], 0, "$label: migrator 2: exit 0" or diag $results[1][1];
    my %applied;
    $applied{$_}++ for map { $_->[1] =~ /^migration (\S+): applied$/mg } @results;
    is_deeply \%applied, { map { $_ => 1 } @files }, "$label: between them, each migration applied exactly once"
        or diag join "\n---\n", map { $_->[1] } @results;
    my %meanwhile;
    $meanwhile{$_}++ for map { $_->[1] =~ /^migration (\S+): applied meanwhile by another run$/mg } @results;
    ok scalar(keys %meanwhile) >= 1, "$label: the other run saw at least one \"applied meanwhile\""
        or diag join "\n---\n", map { $_->[1] } @results;
    is_deeply ledger($rdbh), \@files, "$label: schema_migrations has each version once";
    is $rdbh->selectrow_array(q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'}), $tables,
        "$label: the same tables as a single run made";
    $rdbh->disconnect;
}

# A database whose ledger exists (sql/schema.sql applied, no migration yet).
{
    my $name = new_db('race_ledger');
    my $out = `psql '@{[ conninfo($name) ]}' --no-psqlrc --quiet -v ON_ERROR_STOP=1 -f '$top/sql/schema.sql' 2>&1`;
    is $?, 0, 'setup: sql/schema.sql applied' or diag $out;
    race_ok($name, 'ledger present');
}

# A brand-new database: both runs create the ledger (sql/schema.sql, CREATE
# TABLE IF NOT EXISTS schema_migrations), which PostgreSQL's IF NOT EXISTS does
# not make safe against a concurrent CREATE ("duplicate key value violates
# unique constraint pg_type_typname_nsp_index"): scripts/migrate applies it
# under the migrations' advisory lock, so the second run waits for the first.
race_ok(new_db('race_fresh'), 'fresh database');
$dbh->disconnect;

done_testing();
