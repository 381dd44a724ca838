# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::Httpd;

# A throwaway httpd next to the suite's own: for tests that need a
# configuration of their own (the shipped conf/slotrecovery.conf, a directive
# apachectl configtest must refuse). It loads the freshly built module
# (SR_MODULE_SO) and lives in a temporary directory under t/logs, removed when
# the object goes away. See the POD at the end.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp ();
use IO::Socket::IP ();
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

use Apache::Test ();
use SlotRecovery::TestEnv ();

# The modules every instance loads (Debian builds them as DSOs).
my @MODULES = qw(mpm_event authz_core authz_host authn_core dbd);

sub httpd_bin { Apache::Test::vars('httpd') || '/usr/sbin/apache2' }

sub libexecdir {
    my $apxs = Apache::Test::vars('apxs') || '/usr/bin/apxs';
    chomp(my $dir = `$apxs -q LIBEXECDIR 2>/dev/null` // '');
    return $dir || '/usr/lib/apache2/modules';
}

# A TCP port nothing listens on at 127.0.0.1 (and ::1 when it exists).
sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 0)
            or croak "free_port: $@";
        my $port = $s->sockport;
        close $s;
        next if have_ipv6_loopback() && !IO::Socket::IP->new(LocalHost => '::1', LocalPort => $port, Listen => 1);
        return $port;
    }
    croak 'free_port: no free port found';
}

my $IPV6;
sub have_ipv6_loopback {
    $IPV6 //= IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1) ? 1 : 0;
    return $IPV6;
}

# new(body => $conf_text, listen => ['127.0.0.1:8080', '[::1]:8080'])
sub new {
    my ($class, %o) = @_;
    my $logs = Apache::Test::vars('t_logs') or croak 'no t_logs';
    my $dir = File::Temp::tempdir('httpd-XXXXXX', DIR => $logs, CLEANUP => !$ENV{SR_KEEP_TMP});
    chmod 0755, $dir;
    mkdir "$dir/$_" for qw(run logs htdocs);
    chmod 0755, "$dir/htdocs";
    my $self = bless { dir => $dir, listen => $o{listen} || [], body => $o{body} // '' }, $class;
    $self->write_conf;
    return $self;
}

# suite_twin(sweep_interval => 1, worker_interval => 1, body => $more): a throwaway httpd set up
# like the suite's own (its database, stand-ins and secrets, the module on
# /api) but with a watchdog that sweeps every sweep_interval seconds. The
# suite's server sweeps once an hour (t/conf/extra.conf.in), so that no sweep
# disturbs what a test counts; a test of the watchdog itself starts a twin,
# and the twin sweeps the suite's database only while that test holds it.
sub suite_twin {
    my ($class, %o) = @_;
    my $port = free_port();
    my %e = map { $_ => SlotRecovery::TestEnv::get($_) } qw(SR_PG_HOST SR_PG_PORT SR_PG_DB SR_PG_USER
        SR_INTERNAL_SECRET SR_TWILIO_ACCOUNT_SID SR_TWILIO_AUTH_TOKEN SR_TWILIO_PORT
        SR_STRIPE_SECRET_KEY SR_STRIPE_WEBHOOK_SECRET SR_STRIPE_PORT);
    my $interval = $o{sweep_interval} // 1;
    my $worker = $o{worker_interval} // 1;
    my $self = $class->new(listen => ["127.0.0.1:$port"], body => <<"EOF" . ($o{body} // ''));
LogLevel info slotrecovery:debug
DBDriver pgsql
DBDParams "host=$e{SR_PG_HOST} port=$e{SR_PG_PORT} dbname=$e{SR_PG_DB} user=$e{SR_PG_USER}"
DBDPersist On
DBDMin 1
DBDKeep 2
DBDMax 8
DBDExptime 60
SlotRecoveryInternalSecret $e{SR_INTERNAL_SECRET}
SlotRecoveryPublicBaseUrl http://127.0.0.1:$port
SlotRecoveryTwilioAccountSid $e{SR_TWILIO_ACCOUNT_SID}
SlotRecoveryTwilioAuthToken $e{SR_TWILIO_AUTH_TOKEN}
SlotRecoveryTwilioApiBase http://127.0.0.1:$e{SR_TWILIO_PORT}
SlotRecoveryStripeSecretKey $e{SR_STRIPE_SECRET_KEY}
SlotRecoveryStripeWebhookSecret $e{SR_STRIPE_WEBHOOK_SECRET}
SlotRecoveryStripeApiBase http://127.0.0.1:$e{SR_STRIPE_PORT}
SlotRecoverySweepInterval $interval
SlotRecoveryWorkerInterval $worker
<Location /api>
    SetHandler slotrecovery
</Location>
EOF
    $self->{port} = $port;
    return $self;
}

sub port { $_[0]{port} }
# http://127.0.0.1:port$path of a twin (or of the first Listen address).
sub url {
    my ($self, $path) = @_;
    my $hostport = $self->{port} ? "127.0.0.1:$self->{port}" : $self->{listen}[0];
    return "http://$hostport" . ($path // '');
}

# The watchdog sweeps this httpd logged after byte $offset of its error log,
# their counters summed (sweeps: how many), as
# SlotRecovery::Scenario::watchdog_sweeps reads the suite's.
sub watchdog_sweeps {
    my ($self, $offset) = @_;
    my @keys = qw(offersExpired offersSent offersFailed slotsAdvanced slotsExpired);
    my %sum = map { $_ => 0 } 'sweeps', @keys;
    require SlotRecovery::Scenario;
    SlotRecovery::Scenario::_add_watchdog_line(\%sum, $_) for split /\n/, $self->log_since($offset);
    return \%sum;
}

sub dir       { $_[0]{dir} }
sub conf_file { "$_[0]{dir}/httpd.conf" }
sub error_log { "$_[0]{dir}/logs/error_log" }

# Writes a file into the instance's directory (readable by the children).
sub write_file {
    my ($self, $name, $content) = @_;
    my $path = "$self->{dir}/$name";
    open my $fh, '>', $path or croak "$path: $!";
    print {$fh} $content;
    close $fh or croak "$path: $!";
    chmod 0644, $path;
    return $path;
}

sub write_conf {
    my ($self) = @_;
    my $dir = $self->{dir};
    my $libexec = libexecdir();
    my $so = SlotRecovery::TestEnv::get('SR_MODULE_SO');
    my $user = $> == 0 ? "User nobody\nGroup nogroup\n" : '';
    my $listen = join '', map { "Listen $_\n" } @{ $self->{listen} };
    my $server_name = @{ $self->{listen} } ? $self->{listen}[0] : '127.0.0.1';
    my $load = join '', map { "LoadModule ${_}_module $libexec/mod_$_.so\n" } @MODULES;
    $self->write_file('httpd.conf', <<"EOF");
# Written by SlotRecovery::Httpd (a test's throwaway httpd).
ServerRoot "$dir"
$listen
ServerName $server_name
$user
$load
LoadModule slotrecovery_module "$so"
PidFile $dir/run/httpd.pid
DefaultRuntimeDir $dir/run
Mutex file:$dir/run default
ErrorLog $dir/logs/error_log
LogLevel info
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
# As Debian's apache2.conf: nothing outside the document root, which is open.
<Directory />
    AllowOverride None
    Require all denied
</Directory>
DocumentRoot $dir/htdocs
<Directory $dir/htdocs>
    Require all granted
</Directory>

$self->{body}
EOF
}

# apachectl configtest: (ok, its output).
sub configtest {
    my ($self) = @_;
    my ($status, $out) = $self->_run('-t');
    return ($status == 0, $out);
}

sub _run {
    my ($self, @args) = @_;
    my @cmd = (httpd_bin(), '-f', $self->conf_file, '-d', $self->{dir}, @args);
    my $pid = open my $ph, '-|';
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT or die "dup: $!";
        exec { $cmd[0] } @cmd or die "exec $cmd[0]: $!";
    }
    local $/;
    my $out = <$ph>;
    close $ph;
    return ($?, $out // '');
}

sub start {
    my ($self) = @_;
    my ($ok, $out) = $self->configtest;
    croak "configtest failed:\n$out" unless $ok;
    my @cmd = (httpd_bin(), '-f', $self->conf_file, '-d', $self->{dir}, '-k', 'start');
    system(@cmd) == 0 or croak "@cmd: exit $?";
    $self->{started} = 1;
    for my $addr (@{ $self->{listen} }) {
        my ($host, $port) = $addr =~ /^\[?([^\]]+?)\]?:(\d+)$/ or croak "listen address $addr";
        my $up = _poll(sub { IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Type => SOCK_STREAM) }, 30);
        croak "httpd does not answer on $addr (see " . $self->error_log . ")" unless $up;
    }
    return $self;
}

sub pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/run/httpd.pid" or return undef;
    chomp(my $pid = <$fh> // '');
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub stop {
    my ($self) = @_;
    return unless $self->{started};
    $self->{started} = 0;
    my $pid = $self->pid or return;
    kill 'TERM', $pid;
    _poll(sub { !kill 0, $pid }, 20) or kill 'KILL', $pid;
}

# The lines of the error log from $offset (a byte count from an earlier
# log_size) on.
sub log_size { -s $_[0]->error_log || 0 }

sub log_since {
    my ($self, $offset) = @_;
    open my $fh, '<', $self->error_log or return '';
    seek $fh, $offset || 0, 0;
    local $/;
    return <$fh> // '';
}

sub _poll {
    my ($code, $timeout) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $v = $code->();
        return $v if $v;
        return undef if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep(0.05);
    }
}

sub DESTROY { $_[0]->stop }

1;

__END__

=head1 NAME

SlotRecovery::Httpd - a test's own throwaway httpd

=head1 SYNOPSIS

  my $port = SlotRecovery::Httpd::free_port();
  my $h = SlotRecovery::Httpd->new(listen => ["127.0.0.1:$port"], body => "Include ...\n");
  my ($ok, $out) = $h->configtest;       # httpd -t
  $h->start;                             # configtest, -k start, waits for every Listen
  ...
  $h->stop;                              # also when $h goes out of scope

The generated httpd.conf loads mpm_event, authz_core, authz_host, authn_core,
mod_dbd and the freshly built module (SR_MODULE_SO), sets its own PidFile,
ErrorLog (C<< $h->error_log >>), runtime directory and, as root, User
nobody / Group nogroup, then appends C<body>. C<< $h->write_file($name, $text) >>
puts a file next to it; C<log_size> / C<log_since($offset)> read the error log.

C<< SlotRecovery::Httpd->suite_twin(sweep_interval => 1) >> is an instance set
up like the suite's server (its database, stand-ins and secrets; the module on
/api; C<< $h->url('/api/...') >>) whose watchdog sweeps every
C<sweep_interval> seconds: the suite's own server sweeps once an hour, so a
test of the watchdog starts a twin (and stops it when done).
C<< $h->watchdog_sweeps($offset) >> sums the sweeps it logged since then
(C<sweeps>: how many).

=cut
