# SPDX-License-Identifier: Apache-2.0
# A statement that fails on a healthy connection (here a unique violation that
# a trigger of this test raises for a customer named 'boom') is an error of the
# request, not a lost session: the answer is 503 with Retry-After, the work runs
# once, nothing is prepared again (no "already exists" in PostgreSQL's log) and
# a child does not grow with every such request. A deadlock victim is retried
# once. A session that really lost its statements (its backend terminated) is
# reconnected and prepared again, and the request still succeeds.
# SR_STATEMENT_ERRORS_N=10000 measures more requests (default 2000).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use File::Basename qw(dirname);
use HTTP::Tiny ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(pg_data_dir);
use SlotRecovery::Scenario qw(log_mark);

my $WARMUP   = 200;
my $MEASURED = $ENV{SR_STATEMENT_ERRORS_N} || 2000;
my $MAX_GROWTH_KB = 2048;

reset_all();

my $data_dir = eval { pg_data_dir() };
my $pg_log = $data_dir ? dirname($data_dir) . '/postgres.log' : undef;
cannot_run("cannot read PostgreSQL's log (@{[ $pg_log // 'no data directory' ]})")
    unless $pg_log && -r $pg_log;

my $httpd_pid = do {
    my $file = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    my $pid = <$fh>;
    $pid =~ s/\s+//g;
    $pid;
};

# --- fault injection, in this test's database only ------------------------------------
db_do(q{CREATE OR REPLACE FUNCTION sr_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name = 'boom' THEN
        RAISE unique_violation USING MESSAGE = 'sr_test_fault: injected unique violation';
    END IF;
    -- The first 'deadlock' insert is the victim of a deadlock; the retry goes through.
    -- (A sequence: nextval survives the rollback of the victim's transaction.)
    IF NEW.name = 'deadlock' AND nextval('sr_test_fault_deadlocks') = 1 THEN
        RAISE deadlock_detected USING MESSAGE = 'deadlock detected',
            DETAIL = 'sr_test_fault: injected deadlock';
    END IF;
    RETURN NEW;
END $$});
db_do('DROP SEQUENCE IF EXISTS sr_test_fault_deadlocks');
db_do('CREATE SEQUENCE sr_test_fault_deadlocks');
db_do('DROP TRIGGER IF EXISTS sr_test_fault ON customers');
db_do('CREATE TRIGGER sr_test_fault BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION sr_test_fault()');
END {
    local $?;
    eval {
        db_do('DROP TRIGGER IF EXISTS sr_test_fault ON customers');
        db_do('DROP FUNCTION IF EXISTS sr_test_fault()');
        db_do('DROP SEQUENCE IF EXISTS sr_test_fault_deadlocks');
    };
}

my $shop = make_shop(name => 'Fault Shop');
my $ann = make_customer($shop->{id}, name => 'Ann');
my $appt = make_appointment($shop->{id}, $ann->{id});
my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
my %headers = ('X-Internal-Secret' => secret(), 'Content-Type' => 'application/json');
my $boom = encode_json({ shopId => $shop->{id}, name => 'boom', phone => '+15557770999', smsOptIn => json_true() });
my $post_boom = sub { $ua->request(POST => url('/api/customers'), { headers => \%headers, content => $boom }) };

sub pg_log_from {
    my ($mark) = @_;
    open my $fh, '<', $pg_log or die "$pg_log: $!";
    seek $fh, $mark, 0;
    local $/;
    return scalar <$fh> // '';
}

sub children_rss_kb {
    my %rss;
    opendir my $dh, '/proc' or die "/proc: $!";
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/status" or next;
        my %f = map { /^(\w+):\s*(.*?)\s*$/ ? ($1 => $2) : () } <$fh>;
        next unless ($f{PPid} // '') eq $httpd_pid;
        ($rss{$pid}) = ($f{VmRSS} // '0') =~ /(\d+)/;
    }
    return \%rss;
}

# --- one failing request ---------------------------------------------------------------
my $pg_mark = -s $pg_log;
my $log_mark = log_mark();
my $res = $post_boom->();
is $res->{status}, 503, 'a statement that fails: 503' or diag "$res->{status} $res->{content}";
ok $res->{headers}{'retry-after'}, '... with Retry-After';
like $res->{content}, qr/"error"/, '... and a JSON error';
is db_count(q{customers WHERE name = 'boom'}), 0, '... nothing written';
my $one = pg_log_from($pg_mark);
my @faults = $one =~ /sr_test_fault: injected unique violation/g;
is scalar @faults, 1, 'the statement ran once: a plain SQL error is not retried';
unlike $one, qr/already exists/, 'no statement prepared again (no "already exists" in the PostgreSQL log)';
open my $elog, '<', Apache::Test::vars('t_logs') . '/error_log' or die "error_log: $!";
seek $elog, $log_mark, 0;
my $logged = do { local $/; <$elog> } // '';
close $elog;
like $logged, qr/mod_slotrecovery: statement sr_customer_insert failed: .*sr_test_fault/,
    'the error log names the statement and PostgreSQL\'s message';
unlike $logged, qr/prepared \d+ statements? again/, '... and says nothing was recovered';

# --- many failing requests: no growth ----------------------------------------------------
$post_boom->() for 1 .. $WARMUP;
my $before = children_rss_kb();
$pg_mark = -s $pg_log;
my %codes;
$codes{ $post_boom->()->{status} }++ for 1 .. $MEASURED;
my $after = children_rss_kb();
is_deeply \%codes, { 503 => $MEASURED }, "$MEASURED more failing requests: all 503";
# Per child: each keeps its own pools and connections. (The sum over the children
# is shown too; ordinary requests, a 400 that never reaches the database, grow
# the children by about as much: thread allocators warming up, not a leak.)
my ($max, $sum, $common) = (0, 0, 0);
for my $pid (keys %$before) {
    next unless exists $after->{$pid};
    my $g = $after->{$pid} - $before->{$pid};
    $common++;
    $sum += $g;
    $max = $g if $g > $max;
}
ok $common > 0, "children measured ($common)";
cmp_ok $max, '<', $MAX_GROWTH_KB, "$MEASURED failing requests grow no child by 2 MB (largest growth ${max} kB)";
diag "RSS growth over $MEASURED failing requests: largest $max kB, sum $sum kB (children: "
    . join(', ', map { "$_: $before->{$_} -> " . ($after->{$_} // 'gone') } sort keys %$before) . ')';
my $many = pg_log_from($pg_mark);
my $n_faults = () = $many =~ /sr_test_fault: injected unique violation/g;
my $n_exists = () = $many =~ /already exists/g;
is $n_faults, $MEASURED, 'one execution per request';
is $n_exists, 0, 'no "already exists" errors in the PostgreSQL log';

# --- a deadlock victim is retried once --------------------------------------------------
$pg_mark = -s $pg_log;
$res = $ua->request(POST => url('/api/customers'), { headers => \%headers,
    content => encode_json({ shopId => $shop->{id}, name => 'deadlock', phone => '+15557770998', smsOptIn => json_true() }) });
is $res->{status}, 201, 'a deadlock victim is retried: 201' or diag "$res->{status} $res->{content}";
is db_count(q{customers WHERE name = 'deadlock'}), 1, '... one customer';
my $dl = pg_log_from($pg_mark);
my $n_dl = () = $dl =~ /sr_test_fault: injected deadlock/g;
is $n_dl, 1, '... after exactly one deadlock';
unlike $dl, qr/already exists/, '... and nothing prepared again';

# --- a session that lost its statements is recovered ------------------------------------
$pg_mark = -s $pg_log;
$log_mark = log_mark();
my $killed = db()->selectcol_arrayref(q{
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'});
ok scalar(@$killed) > 0, 'terminated the httpd sessions (' . scalar(@$killed) . ')';
my @statuses;
for my $i (1 .. 20) {
    my $r = HTTP::Tiny->new(timeout => 30)->get(url("/api/appointments/$appt->{id}"), { headers => { 'X-Internal-Secret' => secret() } });
    push @statuses, $r->{status};
}
is_deeply \@statuses, [ (200) x 20 ], '20 requests after the sessions were terminated: all 200';
open $elog, '<', Apache::Test::vars('t_logs') . '/error_log' or die "error_log: $!";
seek $elog, $log_mark, 0;
$logged = do { local $/; <$elog> } // '';
like $logged, qr/database session was reset: prepared \d+ statements again/, 'the module logged the recovery';
unlike pg_log_from($pg_mark), qr/already exists/, '... without any "already exists" error';

done_testing();
