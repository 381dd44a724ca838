# SPDX-License-Identifier: Apache-2.0
# The watchdog sweep uses each virtual host's own settings. This test starts a
# second httpd of its own (same module, same PostgreSQL and stand-ins as the
# suite, a database of its own so the suite's server never touches its rows):
#
#  A. DBD, Twilio and Stripe configured only inside two identical
#     <VirtualHost>s: the sweep sends a due offer with the vhost's Twilio
#     account, once, and the second vhost (same database, same settings) is
#     not swept again.
#  B. The main server has the database (and a 1 s sweep) but no Twilio; the
#     vhost has Twilio: the offer is sent by the vhost's sweep, and no attempt
#     is used up by "Twilio is not configured".
#  C. No server has Twilio: `apache2 -t` and the start-up log say so; an offer
#     made then waits as pending with no attempt counted, and the sweep
#     neither sends nor fails it.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use HTTP::Tiny ();
use IO::Socket::INET ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::TestEnv ();

cannot_run('needs root (the second httpd switches to User nobody)') if $> != 0;

my $DB      = 'slotrecovery_vhost';
my $SECRET  = 'vhost-internal-secret-0123456789abcdef0123';
my $SID     = 'AC' . ('fedcba9876543210' x 2);    # not the suite's: tells who sent an SMS
my $TOKEN   = 'vhost-twilio-auth-token-0123456789';
my %ENVV    = map { $_ => SlotRecovery::TestEnv::get($_) }
    qw(SR_PG_HOST SR_PG_PORT SR_PG_USER SR_TWILIO_PORT SR_STRIPE_PORT SR_MODULE_SO SR_DBD_SO);
my $HTTPD   = Apache::Test::vars('httpd') || '/usr/sbin/apache2';
my $MODS    = dirname($ENVV{SR_DBD_SO});
my $DIR     = Apache::Test::vars('t_logs') . '/vhost-sweep';
my $PIDFILE = "$DIR/run/httpd.pid";
my $ELOG    = "$DIR/logs/error_log";

sub free_port {
    my $sock = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $sock->sockport;
    close $sock;
    return $port;
}
my ($P_MAIN, $P_A, $P_B) = (free_port(), free_port(), free_port());
die "ports collide" if $P_MAIN == $P_A || $P_A == $P_B || $P_MAIN == $P_B;

# --- the test's own database ------------------------------------------------------------
sub admin_db {
    require DBI;
    return DBI->connect("dbi:Pg:dbname=postgres;host=$ENVV{SR_PG_HOST};port=$ENVV{SR_PG_PORT}", $ENVV{SR_PG_USER}, '',
        { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
}
my $VDB;
sub vdb {
    return $VDB if $VDB && $VDB->ping;
    require DBI;
    $VDB = DBI->connect("dbi:Pg:dbname=$DB;host=$ENVV{SR_PG_HOST};port=$ENVV{SR_PG_PORT}", $ENVV{SR_PG_USER}, '',
        { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
    return $VDB;
}
sub vrows { my $sql = shift; vdb()->selectall_arrayref($sql, { Slice => {} }, @_) }
sub vreset {
    # The previous part's httpd first: its worker reads the tables every second, and TRUNCATE would deadlock with it.
    stop_httpd();
    my $tables = vdb()->selectcol_arrayref(q{SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'
        AND tablename NOT IN ('schema_migrations', 'installation')});
    vdb()->do('TRUNCATE ' . join(', ', @$tables) . ' RESTART IDENTITY CASCADE');
}

admin_db()->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)");
admin_db()->do("CREATE DATABASE $DB");
my $conninfo = "host=$ENVV{SR_PG_HOST} port=$ENVV{SR_PG_PORT} dbname=$DB user=$ENVV{SR_PG_USER}";
system(SlotRecovery::TestEnv::top_dir() . '/scripts/migrate', $conninfo) == 0 or die "scripts/migrate failed";
is vdb()->selectrow_array('SELECT count(*) FROM installation'), 1, 'the test database has its installation row';

# --- the second httpd -----------------------------------------------------------------
my $DBD = <<"EOF";
    DBDriver pgsql
    DBDParams "$conninfo"
    DBDPersist On
    DBDMin 1
    DBDKeep 2
    DBDMax 8
    DBDExptime 60
EOF

sub vhost_settings {
    my ($port) = @_;
    return <<"EOF";
$DBD
    SlotRecoveryInternalSecret $SECRET
    SlotRecoveryPublicBaseUrl http://127.0.0.1:$port
    SlotRecoveryTwilioAccountSid $SID
    SlotRecoveryTwilioAuthToken $TOKEN
    SlotRecoveryTwilioApiBase http://127.0.0.1:$ENVV{SR_TWILIO_PORT}
    SlotRecoveryStripeSecretKey sk_test_vhost0123456789
    SlotRecoveryStripeWebhookSecret whsec_test_vhost0123456789
    SlotRecoveryStripeApiBase http://127.0.0.1:$ENVV{SR_STRIPE_PORT}
    SlotRecoverySweepInterval 1
EOF
}

sub write_conf {
    my ($name, %o) = @_;
    my $vhosts = $o{vhosts} ? join('', map { my ($host, $port) = @$_; <<"EOF" } ([ 'vhost-a.test', $P_A ], [ 'vhost-b.test', $P_B ])) : '';
<VirtualHost 127.0.0.1:$port>
    ServerName $host
@{[ vhost_settings($port) ]}
</VirtualHost>
EOF
    my $file = "$DIR/$name.conf";
    open my $fh, '>', $file or die "$file: $!";
    print {$fh} <<"EOF";
ServerRoot "$DIR"
Listen 127.0.0.1:$P_MAIN
Listen 127.0.0.1:$P_A
Listen 127.0.0.1:$P_B
ServerName 127.0.0.1:$P_MAIN
User nobody
Group nogroup
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule dbd_module $ENVV{SR_DBD_SO}
LoadModule slotrecovery_module $ENVV{SR_MODULE_SO}
PidFile $PIDFILE
DefaultRuntimeDir $DIR/run
ErrorLog $ELOG
LogLevel info slotrecovery:debug
DocumentRoot $DIR/htdocs
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16
MinSpareThreads 8
MaxSpareThreads 16
<Location /api>
    SetHandler slotrecovery
</Location>
# The main server's own settings (phase B and C).
@{[ $o{main} // '' ]}
$vhosts
EOF
    close $fh;
    return $file;
}

remove_tree($DIR);
make_path("$DIR/logs", "$DIR/run", "$DIR/htdocs");
chmod 0755, $DIR, "$DIR/logs", "$DIR/run", "$DIR/htdocs";

my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub httpd_pid {
    open my $fh, '<', $PIDFILE or return;
    my $pid = <$fh>;
    return unless defined $pid && $pid =~ /^(\d+)/;
    return $1;
}

sub stop_httpd {
    my $pid = httpd_pid() or return;
    kill 'TERM', $pid;
    wait_until(sub { !kill(0, $pid) }, timeout => 30) or kill 'KILL', $pid;
    unlink $PIDFILE;
}

sub start_httpd {
    my ($conf) = @_;
    stop_httpd();
    system($HTTPD, '-f', $conf, '-d', $DIR, '-k', 'start') == 0 or die "$HTTPD -k start failed: $?";
    wait_until(sub { $http->get("http://127.0.0.1:$P_MAIN/")->{status} != 599 }, timeout => 30)
        or die "the second httpd does not answer on $P_MAIN (see $ELOG)";
}

END {
    local $?;
    stop_httpd();
    undef $VDB;
    eval { admin_db()->do("DROP DATABASE IF EXISTS $DB WITH (FORCE)") };
}

sub log_size { -s $ELOG || 0 }
sub log_since {
    my ($mark) = @_;
    open my $fh, '<', $ELOG or return '';
    seek $fh, $mark, 0;
    local $/;
    return scalar(<$fh>) // '';
}

my $PHONE = 0;
sub api_at {
    my ($port, $method, $path, $data) = @_;
    my $res = $http->request($method, "http://127.0.0.1:$port$path", {
        headers => { 'X-Internal-Secret' => $SECRET, 'Content-Type' => 'application/json' },
        (defined $data ? (content => encode_json($data)) : ()),
    });
    my $json = eval { decode_json($res->{content}) };
    return ($res->{status}, $json, $res->{content});
}
sub create_at {
    my ($port, $path, $data) = @_;
    my ($status, $json, $body) = api_at($port, POST => $path, $data);
    die "POST $path on $port: $status $body" unless $status == 201;
    return $json;
}

# A shop, a canceller and two waitlist customers A and B, through the API on
# $port; the cancellation's SMS to A fails (the stand-in answers 503), so A's
# offer waits as pending: then it is made due at once. Returns (slot id, A, B).
sub due_offer_via {
    my ($port) = @_;
    my $shop = create_at($port, '/api/shops', { name => "Vhost Shop $port", timezone => 'America/New_York',
        smsFrom => '+15005550006', depositAmount => 0, currency => 'usd' });
    my @c = map {
        create_at($port, '/api/customers', { shopId => $shop->{id}, name => "Customer $_",
            phone => sprintf('+1555888%04d', ++$PHONE), smsOptIn => json_true() })
    } qw(canceller A B);
    my $appt = create_at($port, '/api/appointments', { shopId => $shop->{id}, customerId => $c[0]{id},
        startsAt => iso_in(2 * 86400), endsAt => iso_in(2 * 86400 + 1800) });
    # The cancel only writes the offer (pending, due): the watchdog's worker is what sends it.
    my ($status, $json, $body) = api_at($port, POST => "/api/appointments/$appt->{id}/cancel");
    die "cancel on $port: $status $body" unless $status == 200 && $json->{slotOpening};
    my $slot = $json->{slotOpening}{id};
    vdb()->do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 second'
                 WHERE slot_opening_id = ? AND status = 'pending'}, undef, $slot);
    return ($slot, $c[1], $c[2]);
}

sub offers_of { vrows('SELECT * FROM slot_offers WHERE slot_opening_id = ? ORDER BY id', $_[0]) }
sub sent_with_our_sid {
    my ($phone) = @_;
    return [ grep { ($_->{form}{To} // '') eq $phone && $_->{path} =~ m{/Accounts/\Q$SID\E/} && ($_->{status} // 0) == 201 }
        @{ twilio_messages() } ];
}
sub not_configured_offers {
    return vrows(q{SELECT id, status, attempts, last_error FROM slot_offers
                    WHERE last_error LIKE '%not configured%' OR status = 'failed'});
}

# --- A: everything only inside the virtual hosts ----------------------------------------
{
    vreset();
    twilio_reset();
    twilio_accounts({ $SID => $TOKEN });    # the stand-in checks each account's token
    my $conf = write_conf('vhost-only', vhosts => 1);
    my $mark = log_size();
    start_httpd($conf);
    my ($slot, $a) = due_offer_via($P_A);
    my $sent = wait_until(sub { my $m = sent_with_our_sid($a->{phone}); @$m ? $m : undef }, timeout => 20);
    ok $sent, "A: the vhost's sweep sent the due offer's SMS with the vhost's Twilio account"
        or diag log_since($mark);
    is scalar @{ $sent || [] }, 1, 'A: exactly one SMS';
    my ($offer) = @{ offers_of($slot) };
    ok wait_until(sub { (offers_of($slot)->[0]{status} // '') eq 'sent' }, timeout => 10), 'A: the offer is sent';
    is_deeply not_configured_offers(), [], 'A: no offer failed or carries "not configured"';
    # The worker logs its pass after the offer's commit: wait for that line, not only for the row.
    my $logged = wait_until(sub { my $l = log_since($mark); $l =~ /worker: 1 offers sent, / ? $l : undef }, timeout => 10)
        // log_since($mark);
    # httpd lists the virtual hosts last defined first: either may be the one swept.
    my ($swept) = $logged =~ /worker: 1 offers sent, .*\(\d+ ms, virtual host (vhost-[ab])\.test:/;
    ok $swept, "A: the worker with the vhosts' settings logged the SMS" or diag $logged;
    my $other = ($swept // 'vhost-a') eq 'vhost-a' ? 'vhost-b' : 'vhost-a';
    like $logged, qr/sweep of the virtual host \Q$other\E\.test:\d+ .*skipped: same database and sweep settings as the virtual host \Q$swept\E\.test/,
        "A: $other (same database and settings) is not swept twice";
    unlike $logged, qr/sweep: .*\Q$other\E\.test/, "... no sweep logged for $other";
    unlike $logged, qr/sweep: .*main server/, 'A: the main server (no Twilio, no database) is not swept';
    unlike $logged, qr/no server \(main or <VirtualHost>\) has both/, 'A: no start-up warning: a vhost can sweep';
}

# --- B: the database in the main server too, Twilio only in the vhost ------------------------
{
    vreset();
    twilio_reset();
    twilio_accounts({ $SID => $TOKEN });    # the stand-in checks each account's token
    my $conf = write_conf('main-db', vhosts => 1, main => "$DBD\nSlotRecoverySweepInterval 1\n");
    my $mark = log_size();
    start_httpd($conf);
    my ($slot, $a) = due_offer_via($P_A);
    my $sent = wait_until(sub { my $m = sent_with_our_sid($a->{phone}); @$m ? $m : undef }, timeout => 20);
    ok $sent, "B: the vhost's sweep sent the due offer's SMS" or diag log_since($mark);
    ok wait_until(sub { (offers_of($slot)->[0]{status} // '') eq 'sent' }, timeout => 10), 'B: the offer is sent';
    is offers_of($slot)->[0]{attempts}, 1, 'B: one attempt: the cancel only wrote the offer, the vhost\'s worker sent it';
    is_deeply not_configured_offers(), [], 'B: no offer failed or carries "not configured"';
    is scalar @{ offers_of($slot) }, 1, 'B: the waitlist is not used up: one offer';
}

# --- C: no server has Twilio ---------------------------------------------------------------
{
    vreset();
    twilio_reset();
    twilio_accounts({ $SID => $TOKEN });    # the stand-in checks each account's token
    my $conf = write_conf('no-twilio', main => "$DBD\nSlotRecoveryInternalSecret $SECRET\nSlotRecoverySweepInterval 1\n");
    my $out = `'$HTTPD' -t -f '$conf' -d '$DIR' 2>&1`;
    like $out, qr/Syntax OK/, 'C: apache2 -t accepts the configuration';
    like $out, qr/mod_slotrecovery: no server \(main or <VirtualHost>\) has both SlotRecoveryTwilioAccountSid and SlotRecoveryTwilioAuthToken/,
        '... and says that no server can sweep' or diag $out;
    my $vhost_out = `'$HTTPD' -t -f '$DIR/vhost-only.conf' -d '$DIR' 2>&1`;
    unlike $vhost_out, qr/no server \(main or <VirtualHost>\)/, '... which it does not say when a vhost has Twilio';

    my $mark = log_size();
    start_httpd($conf);
    like log_since($mark), qr/no server \(main or <VirtualHost>\) has both/, 'C: the start-up log says it too';
    my $shop = create_at($P_MAIN, '/api/shops', { name => 'No Twilio Shop', timezone => 'America/New_York',
        smsFrom => '+15005550006', depositAmount => 0, currency => 'usd' });
    my @c = map {
        create_at($P_MAIN, '/api/customers', { shopId => $shop->{id}, name => "Customer $_",
            phone => sprintf('+1555888%04d', ++$PHONE), smsOptIn => json_true() })
    } qw(canceller A);
    my $appt = create_at($P_MAIN, '/api/appointments', { shopId => $shop->{id}, customerId => $c[0]{id},
        startsAt => iso_in(2 * 86400), endsAt => iso_in(2 * 86400 + 1800) });
    my ($status, $json) = api_at($P_MAIN, POST => "/api/appointments/$appt->{id}/cancel");
    is $status, 200, 'C: cancelled';
    my $slot = $json->{slotOpening}{id};
    my ($offer) = @{ offers_of($slot) };
    is $offer->{status}, 'pending', 'C: the offer waits as pending';
    is $offer->{attempts}, 0, '... with no attempt counted';
    ($status, $json) = api_at($P_MAIN, POST => '/api/jobs/sweep', {});
    is $status, 200, 'C: a sweep on the main server answers 200';
    is_deeply [ @{$json}{qw(offersSent offersFailed)} ], [ 0, 0 ], '... sends nothing and fails nothing';
    ($offer) = @{ offers_of($slot) };
    is_deeply [ @{$offer}{qw(status attempts)} ], [ 'pending', 0 ], '... the offer still waits, no attempt counted';
    is scalar @{ twilio_messages() }, 0, 'C: nothing was sent to Twilio';
}

stop_httpd();
done_testing();
