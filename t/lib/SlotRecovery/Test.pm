# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::Test;

# Helpers for the mod_slotrecovery Apache-Test suite. See the POD at the end.

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(hmac_sha1_base64 hmac_sha256_hex);
use Exporter qw(import);
use HTTP::Request ();
use HTTP::Tiny ();
use JSON::PP ();
use POSIX qw(strftime);
use Time::HiRes ();

use Apache::Test ();
use Apache::TestRequest ();
use SlotRecovery::TestEnv ();

our @EXPORT_OK = qw(
    api url public_base_url secret
    db db_do db_row db_rows db_count reset_db reset_all fresh_start cannot_run
    make_shop make_customer make_appointment
    iso_in json_true json_false encode_json decode_json
    wait_until
    twilio_requests twilio_messages twilio_reset twilio_behave twilio_url
    twilio_accounts twilio_callbacks
    stripe_requests stripe_payment_intents stripe_reset stripe_behave stripe_url
    twilio_account_sid twilio_auth_token twilio_signature
    stripe_secret_key stripe_webhook_secret stripe_signature
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

SlotRecovery::TestEnv::init();

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub encode_json { $JSON->encode($_[0]) }
sub decode_json { $JSON->decode($_[0]) }
sub json_true   { JSON::PP::true() }
sub json_false  { JSON::PP::false() }

sub secret                { SlotRecovery::TestEnv::get('SR_INTERNAL_SECRET') }
sub twilio_account_sid    { SlotRecovery::TestEnv::get('SR_TWILIO_ACCOUNT_SID') }
sub twilio_auth_token     { SlotRecovery::TestEnv::get('SR_TWILIO_AUTH_TOKEN') }
sub stripe_secret_key     { SlotRecovery::TestEnv::get('SR_STRIPE_SECRET_KEY') }
sub stripe_webhook_secret { SlotRecovery::TestEnv::get('SR_STRIPE_WEBHOOK_SECRET') }

# ---------------------------------------------------------------------------
# HTTP against the test httpd

# http://host:port of the test server: what SlotRecoveryPublicBaseUrl is set to.
sub public_base_url {
    my $vars = Apache::Test::vars();
    return "http://$vars->{servername}:$vars->{port}";
}

# The absolute URL of a path on the test server.
sub url { Apache::TestRequest::resolve_url($_[0]) }

{
    package SlotRecovery::Test::Response;

    sub status       { $_[0]{status} }
    sub code         { $_[0]{status} }
    sub body         { $_[0]{body} }
    sub json         { $_[0]{json} }
    sub res          { $_[0]{res} }
    sub header       { scalar $_[0]{res}->header($_[1]) }
    sub content_type { scalar $_[0]{res}->header('Content-Type') }
    sub is_success   { $_[0]{res}->is_success }
    # "201 {...body...}" for test diagnostics
    sub dump { my $s = shift; "$s->{status} " . (defined $s->{body} ? $s->{body} : '') }
}

# The side effects a request causes are rows the worker performs after the
# commit (the outbox); on the suite's server the watchdog's worker is off
# (SlotRecoveryWorkerInterval 3600, see t/conf/extra.conf.in), so after every
# request that may have changed something, api() runs one worker pass with
# POST /api/jobs/outbox, as the watchdog would within a second. Only for the
# suite's own server (a relative path), not for twins, which run their own
# worker. local $SlotRecovery::Test::SETTLE = 0 (or api(..., settle => 0))
# leaves the rows for the test to look at, or to drive itself.
our $SETTLE = 1;

sub _settle {
    my ($method, $path, $prefix, $code, %opts) = @_;
    return unless $SETTLE && (!exists $opts{settle} || $opts{settle});
    return if $method eq 'GET' || $method eq 'HEAD' || $method eq 'OPTIONS';
    return if $path =~ m{^\w+://} || $path =~ m{^/api/jobs/};
    return unless $code && $code < 400;
    local $SETTLE = 0;
    my $r = api(POST => '/api/jobs/outbox', undef, prefix => $prefix);
    Test::More::diag('POST /api/jobs/outbox after ' . "$method $path: " . $r->dump) unless $r->status == 200;
}

sub api {
    my ($method, $path, $data, %opts) = @_;
    croak "api: method and path required" unless $method && defined $path;
    $method = uc $method;

    my $prefix = defined $opts{prefix} ? $opts{prefix} : '';
    $prefix =~ s{/+$}{};
    $path = "/$path" unless $path =~ m{^/} || $path =~ m{^\w+://};
    my $target = $path =~ m{^\w+://} ? $path : $prefix . $path;

    my @headers;
    if (exists $opts{secret}) {
        push @headers, 'X-Internal-Secret' => $opts{secret} if defined $opts{secret};
    }
    elsif (!$opts{no_secret}) {
        push @headers, 'X-Internal-Secret' => secret();
    }

    my $body;
    if (exists $opts{raw}) {
        $body = $opts{raw};
    }
    elsif (ref $data) {
        $body = encode_json($data);
    }
    elsif (defined $data) {
        $body = $data;    # a plain string is sent as it is
    }
    if (defined $body) {
        my $ct = exists $opts{content_type} ? $opts{content_type} : 'application/json';
        push @headers, 'Content-Type' => $ct if defined $ct;
    }
    my $extra = $opts{headers} || [];
    push @headers, ref $extra eq 'HASH' ? %$extra : @$extra;

    my $ua = Apache::TestRequest::user_agent();    # created once, then shared
    croak "api: no user agent (is libwww-perl installed?)" unless $ua;
    # Apache::TestRequest::redirect_ok consults this before LWP's own setting.
    local $Apache::TestRequest::RedirectOK = $opts{follow_redirects} ? 1 : 0;
    my $old_timeout = $ua->timeout;
    $ua->timeout($opts{timeout}) if $opts{timeout};

    my $res;
    if ($method eq 'GET' || $method eq 'POST' || $method eq 'PUT' || $method eq 'HEAD'
        || $method eq 'OPTIONS') {
        no strict 'refs';
        my $fn = \&{"Apache::TestRequest::$method"};
        $res = $fn->($target, @headers, (defined $body ? (Content => $body) : ()));
    }
    else {    # DELETE, PATCH, ...: Apache::TestRequest exports no helper for them
        my $req = HTTP::Request->new($method, Apache::TestRequest::resolve_url($target), \@headers, $body);
        $req->header('Content-Length' => defined $body ? length $body : 0);
        $res = $ua->request($req);
    }
    $ua->timeout($old_timeout) if $opts{timeout};

    _settle($method, $path, $prefix, $res->code, %opts);

    my $content = $res->content;
    my $json;
    if (defined $content && length $content) {
        $json = eval { $JSON->decode($content) };
    }
    my %h;
    $res->headers->scan(sub {
        my ($k, $v) = @_;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    });
    return bless {
        status  => $res->code,
        headers => \%h,
        body    => $content,
        json    => $json,
        res     => $res,
    }, 'SlotRecovery::Test::Response';
}

# ---------------------------------------------------------------------------
# The test database

my ($DBH, $DBH_PID);

sub db {
    return $DBH if $DBH && $DBH_PID == $$ && $DBH->ping;
    require DBI;
    my $dsn = sprintf 'dbi:Pg:dbname=%s;host=%s;port=%s',
        map { SlotRecovery::TestEnv::get($_) } qw(SR_PG_DB SR_PG_HOST SR_PG_PORT);
    $DBH = DBI->connect($dsn, SlotRecovery::TestEnv::get('SR_PG_USER'), '',
        { RaiseError => 1, PrintError => 0, AutoCommit => 1, pg_enable_utf8 => 1 })
        or croak "cannot connect to $dsn: " . DBI->errstr;
    $DBH->do(q{SET TIME ZONE 'UTC'});
    $DBH_PID = $$;
    return $DBH;
}

sub db_do   { my $sql = shift; db()->do($sql, undef, @_) }
sub db_row  { my $sql = shift; db()->selectrow_hashref($sql, undef, @_) }
sub db_rows { my $sql = shift; db()->selectall_arrayref($sql, { Slice => {} }, @_) }

# db_count('shops'), db_count('appointments WHERE status = ?', 'cancelled'),
# db_count('SELECT ... ', @bind)
sub db_count {
    my ($what, @bind) = @_;
    my $sql = $what =~ /^\s*(?:select|with)\b/i
        ? "SELECT count(*) FROM ($what) AS counted"
        : "SELECT count(*) FROM $what";
    my ($n) = db()->selectrow_array($sql, undef, @bind);
    return $n + 0;
}

# Empties every application table (all of schema public but schema_migrations
# and installation, the one row migration 005 made: this installation's id).
sub reset_db {
    my $tables = db()->selectcol_arrayref(q{
        SELECT quote_ident(tablename) FROM pg_tables
         WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'installation')
         ORDER BY tablename});
    return unless @$tables;
    db()->do('TRUNCATE ' . join(', ', @$tables) . ' RESTART IDENTITY CASCADE');
}

sub reset_all {
    reset_db();
    twilio_reset();
    stripe_reset();
}

# What every test file starts from: empty tables, both stand-ins with no
# recorded request and the normal behaviour ({}). Called once per process when
# this module is loaded (below), so a file that forgets reset_all() still does
# not see what an earlier file left; t/harness/47_each_file_resets.t checks
# that every file that reaches the suite's server loads this module.
sub fresh_start { reset_all() }

# ---------------------------------------------------------------------------
# Creating data through the JSON API

my $SEQ = 0;

sub _create {
    my ($path, $data) = @_;
    my $r = api(POST => $path, $data);
    croak "POST $path failed: " . $r->dump . "\nrequest: " . encode_json($data)
        unless $r->status == 201 && ref $r->json eq 'HASH';
    return $r->json;
}

sub make_shop {
    my %o = @_;
    ++$SEQ;
    return _create('/api/shops', {
        name          => "Test Shop $SEQ",
        timezone      => 'America/New_York',
        smsFrom       => '+15005550006',
        depositAmount => 2000,
        currency      => 'usd',
        %o,
    });
}

sub make_customer {
    my ($shop_id, %o) = @_;
    croak 'make_customer: shop id required' unless defined $shop_id;
    ++$SEQ;
    return _create('/api/customers', {
        shopId   => "$shop_id",
        name     => "Customer $SEQ",
        phone    => sprintf('+1555%07d', (($$ % 90) + 10) * 10000 + $SEQ % 10000),
        smsOptIn => json_true(),
        %o,
    });
}

sub make_appointment {
    my ($shop_id, $customer_id, %o) = @_;
    croak 'make_appointment: shop id and customer id required'
        unless defined $shop_id && defined $customer_id;
    return _create('/api/appointments', {
        shopId     => "$shop_id",
        customerId => "$customer_id",
        startsAt   => iso_in(86400),
        endsAt     => iso_in(86400 + 1800),
        %o,
    });
}

# iso_in(3600) -> "2025-01-01T13:00:00Z": UTC, whole seconds, from now.
sub iso_in {
    my ($seconds) = @_;
    return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + ($seconds || 0)));
}

# wait_until(sub { ... }, timeout => 10, interval => 0.1): polls until the
# code returns true; returns that value, or undef after the timeout.
# cannot_run($why): this file cannot run here (not root, a tool missing). It
# plans skip_all; under CI=true, where scripts/test installed everything and
# runs as root, that is a broken setup and the file fails instead of passing
# silently.
sub cannot_run {
    my ($why) = @_;
    if (($ENV{CI} // '') eq 'true') {
        Test::More::plan(tests => 1);
        Test::More::fail("CI=true: $why");
        exit 0;
    }
    Test::More::plan(skip_all => $why);
}

sub wait_until {
    my ($code, %o) = @_;
    my $deadline = Time::HiRes::time() + (defined $o{timeout} ? $o{timeout} : 10);
    while (1) {
        my $v = $code->();
        return $v if $v;
        return undef if Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep($o{interval} || 0.1);
    }
}

# ---------------------------------------------------------------------------
# The stand-ins (t/stubs/fake_twilio.py, t/stubs/fake_stripe.py)

my $HTTP = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub twilio_url { 'http://127.0.0.1:' . SlotRecovery::TestEnv::get('SR_TWILIO_PORT') . ($_[0] // '') }
sub stripe_url { 'http://127.0.0.1:' . SlotRecovery::TestEnv::get('SR_STRIPE_PORT') . ($_[0] // '') }

sub _control {
    my ($base, $method, $path, $data) = @_;
    my $res = $HTTP->request($method, $base . $path, {
        (defined $data ? (content => encode_json($data),
                          headers => { 'Content-Type' => 'application/json' }) : ()),
    });
    croak "$method $base$path: $res->{status} $res->{reason} $res->{content}" unless $res->{success};
    return decode_json($res->{content});
}

sub twilio_requests { _control(twilio_url(), GET  => '/_control/requests') }
sub twilio_reset    { _control(twilio_url(), POST => '/_control/reset', {}) }
sub twilio_behave   { _control(twilio_url(), POST => '/_control/behave', $_[0] || {}) }
sub twilio_accounts  { _control(twilio_url(), POST => '/_control/accounts', $_[0] || {}) }
sub twilio_callbacks { _control(twilio_url(), GET  => '/_control/callbacks') }
sub stripe_requests { _control(stripe_url(), GET  => '/_control/requests') }
sub stripe_reset    { _control(stripe_url(), POST => '/_control/reset', {}) }
sub stripe_behave   { _control(stripe_url(), POST => '/_control/behave', $_[0] || {}) }

# Only the message sends (POST .../Messages.json), oldest first.
sub twilio_messages {
    [ grep { $_->{method} eq 'POST' && $_->{path} =~ m{/Messages\.json$} } @{ twilio_requests() } ];
}

# Only the PaymentIntent creations (POST /v1/payment_intents), oldest first.
sub stripe_payment_intents {
    [ grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() } ];
}

# The automatic reset (see fresh_start): the module's body runs once per
# process, after $HTTP above is set.
fresh_start();

# X-Twilio-Signature for a callback to $url with form fields \%params.
sub twilio_signature {
    my ($url, $params, $token) = @_;
    my $data = $url . join '', map { $_ . $params->{$_} } sort keys %{ $params || {} };
    my $sig = hmac_sha1_base64($data, defined $token ? $token : twilio_auth_token());
    $sig .= '=' while length($sig) % 4;
    return $sig;
}

# Stripe-Signature header for a webhook $payload (the raw JSON string).
sub stripe_signature {
    my ($payload, %o) = @_;
    my $t = defined $o{timestamp} ? $o{timestamp} : time;
    my $secret = defined $o{secret} ? $o{secret} : stripe_webhook_secret();
    return "t=$t,v1=" . hmac_sha256_hex("$t.$payload", $secret);
}

1;

__END__

=head1 NAME

SlotRecovery::Test - helpers for the mod_slotrecovery Apache-Test suite

=head1 SYNOPSIS

  use strict;
  use warnings;
  use Apache::Test qw(-withtestmore);
  use SlotRecovery::Test qw(:all);

  plan tests => 3;
  reset_all();                              # empty tables, reset the stand-ins

  my $shop = make_shop(name => 'Salon');     # POST /api/shops, dies unless 201
  my $c    = make_customer($shop->{id});
  my $a    = make_appointment($shop->{id}, $c->{id}, startsAt => iso_in(3600),
                              endsAt => iso_in(5400));

  my $r = api(POST => "/api/appointments/$a->{id}/cancel");
  is $r->status, 200, 'cancelled' or diag $r->dump;
  is $r->json->{status}, 'cancelled';
  is db_count('slot_openings'), 1;

=head1 HTTP

=over

=item api($method, $path, $data, %opts)

Sends a request to the test httpd through Apache::TestRequest (so the right
host and port are used; redirects are not followed). C<$data> is a reference
(sent as JSON with C<Content-Type: application/json>), a plain string (sent as
it is, same content type) or undef (no body). Options:

  secret => 'wrong'        send this X-Internal-Secret instead of the right one
  secret => undef          send no X-Internal-Secret header (also: no_secret => 1)
  raw => $string           the body, exactly (wins over $data)
  content_type => $ct      Content-Type of the body (undef: none)
  prefix => '/mounted'     prepended to $path (the module mounted elsewhere)
  headers => {...} | [...] more request headers
  follow_redirects => 1    follow redirects
  timeout => $seconds      client timeout for this request

Returns a hash (blessed, with accessor methods of the same names):
C<status> (also C<code>), C<headers> (lowercased name => value),
C<body> (raw bytes), C<json> (decoded body, undef unless the body is JSON:
check C<content_type> separately), C<res> (the HTTP::Response). Also
C<header($name)>, C<content_type>, C<is_success> and C<dump> ("status body",
for diag).

=item url($path), public_base_url()

The absolute URL of a path on the test server; C<http://host:port>, which is
what C<SlotRecoveryPublicBaseUrl> is set to.

=back

=head1 DATABASE

C<db()> is a DBI handle (DBD::Pg, AutoCommit, RaiseError, session time zone
UTC) to the suite's database (SR_PG_HOST/SR_PG_PORT/SR_PG_DB/SR_PG_USER, set by
t/run-suite). C<db_do($sql, @bind)>, C<db_row($sql, @bind)> (hashref or undef),
C<db_rows($sql, @bind)> (arrayref of hashrefs), C<db_count($table_or_sql, @bind)>
(C<'shops'>, C<'offers WHERE status = ?'>, or a whole C<SELECT>).
C<reset_db()> truncates every table of schema public except schema_migrations and installation
(RESTART IDENTITY CASCADE); C<reset_all()> also resets both stand-ins
(requests and behaviour). C<fresh_start()> is C<reset_all()>, and runs by
itself once when this module is loaded: every test file starts from an empty
database and stand-ins with the normal behaviour, whatever ran before it.

=head1 DATA

C<make_shop(%overrides)>, C<make_customer($shop_id, %overrides)>,
C<make_appointment($shop_id, $customer_id, %overrides)> create through the JSON
API and return the decoded object (ids are strings); they die with the response
unless it is a 201. Defaults: shop "Test Shop N", America/New_York,
+15005550006, 2000 usd; customer "Customer N", a unique +1555... phone,
smsOptIn true; appointment tomorrow, 30 minutes.
C<iso_in($seconds)> is now + $seconds as C<YYYY-MM-DDTHH:MM:SSZ>.
C<json_true>/C<json_false> are JSON booleans; C<encode_json>/C<decode_json>.
C<wait_until(sub {...}, timeout =E<gt> 10, interval =E<gt> 0.1)> polls.

=head1 STAND-INS

C<twilio_requests()> / C<stripe_requests()>: every request the stand-in got
(method, path, headers (lowercased), form, formMulti, rawBody, json, time,
status, response, replayed). C<twilio_messages()> / C<stripe_payment_intents()>:
only the sends / the PaymentIntent creations. C<twilio_reset()>,
C<stripe_reset()>, C<twilio_accounts(\%)> (adds {SID =E<gt> token} to the accounts the
Twilio stand-in knows until its next reset), C<twilio_callbacks()> (the status callbacks it made),
C<twilio_behave(\%)>, C<stripe_behave(\%)> (replaces the
behaviour; see the headers of t/stubs/fake_twilio.py and fake_stripe.py:
failAll, failTo, failCount, delay, status / decline, declineCode,
declineCustomers, status, failAll, failCount, delay). C<twilio_url($path)>,
C<stripe_url($path)>.

=head1 SECRETS AND SIGNATURES

C<secret()>, C<twilio_account_sid()>, C<twilio_auth_token()>,
C<stripe_secret_key()>, C<stripe_webhook_secret()>: what httpd is configured
with (t/lib/SlotRecovery/TestEnv.pm). C<twilio_signature($url, \%params)> is the
X-Twilio-Signature of a status callback; C<stripe_signature($payload,
timestamp =E<gt> $t, secret =E<gt> $s)> the Stripe-Signature header of a webhook.

=cut
