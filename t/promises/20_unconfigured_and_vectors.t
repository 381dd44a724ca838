# SPDX-License-Identifier: Apache-2.0
# A throwaway httpd of its own (SlotRecovery::Httpd), on the suite's database:
#
# - its main server has no secret at all: every endpoint that needs one
#   answers 503 with Retry-After, a body naming the missing directive and a
#   "mod_slotrecovery: " log line (README, Directives: "A missing secret
#   disables only what needs it: that endpoint answers 503 with a log line");
# - virtual hosts with only some of them: each endpoint names what it lacks;
# - virtual hosts whose secrets all come from the *File directives, and whose
#   SlotRecoveryPublicBaseUrl and auth token are those of Twilio's published
#   known-answer vectors (twilio-python tests/unit/test_request_validator.py:
#   the URL and token 12345 of Twilio's docs, Caller/From +14158675309; and
#   the docs' own example, twilio.com/docs/usage/security, +12349013030):
#   the vectors' requests are accepted as sent, with the default port and
#   without a port, and with repeated parameter names. mod_rewrite maps the
#   vector's path (/myapp.php?foo=1&bar=2) onto the webhook routes; the module
#   signs the URL the client asked for (r->unparsed_uri), so it computes the
#   vector's exact URL.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use Digest::SHA qw(hmac_sha256_hex);
use SlotRecovery::Httpd ();
use SlotRecovery::TestEnv ();
use SlotRecovery::Test ();    # starts from an empty database (its servers use the suite's)

SlotRecovery::Test::cannot_run('no mod_rewrite') unless -f SlotRecovery::Httpd::libexecdir() . '/mod_rewrite.so';

my @names = qw(bare internal_only token_no_url url_no_token https https_port http_port http stripe_py);
my %port = map { $_ => SlotRecovery::Httpd::free_port() } @names;
my $h = SlotRecovery::Httpd->new(listen => [map { "127.0.0.1:$port{$_}" } @names]);

my $files = {
    # Only the first line is the secret (README: "The file form reads the first line").
    secret => $h->write_file('internal-secret', ('f' x 40) . "\nsecond line\n"),
    token  => $h->write_file('twilio-token', "12345\n"),
    key    => $h->write_file('stripe-key', "sk_test_fromfile0123\n"),
    whsec  => $h->write_file('stripe-whsec', "whsec_fromfile0123456789\n"),
};
my %pg = map { $_ => SlotRecovery::TestEnv::get("SR_PG_$_") } qw(HOST PORT DB USER);
my $libexec = SlotRecovery::Httpd::libexecdir();

sub vhost {
    my ($name, $body) = @_;
    return "<VirtualHost 127.0.0.1:$port{$name}>\n    ServerName $name.test\n$body</VirtualHost>\n";
}
sub rewrite {
    my ($route) = @_;
    return "    RewriteEngine On\n    RewriteRule ^/myapp\\.php\$ /api/twilio/$route [PT]\n";
}
my $rewrite = rewrite('inbound');
my $from_files = <<"EOF_F";
    SlotRecoveryInternalSecretFile $files->{secret}
    SlotRecoveryTwilioAuthTokenFile $files->{token}
    SlotRecoveryStripeSecretKeyFile $files->{key}
    SlotRecoveryStripeWebhookSecretFile $files->{whsec}
EOF_F

$h->{body} = <<"EOF_CONF";
LoadModule rewrite_module $libexec/mod_rewrite.so
DBDriver pgsql
DBDParams "host=$pg{HOST} port=$pg{PORT} dbname=$pg{DB} user=$pg{USER}"
DBDMin 0
DBDKeep 2
DBDMax 4
LogLevel info slotrecovery:debug
# A long sweep interval: the vector hosts have no Account SID, so none is swept anyway.
SlotRecoverySweepInterval 3600
<Location /api>
    SetHandler slotrecovery
</Location>
@{[ vhost(bare => '') ]}
@{[ vhost(internal_only => "    SlotRecoveryInternalSecret " . ('i' x 40) . "\n") ]}
@{[ vhost(token_no_url => "    SlotRecoveryTwilioAuthToken 12345\n") ]}
@{[ vhost(url_no_token => "    SlotRecoveryPublicBaseUrl https://mycompany.com\n") ]}
@{[ vhost(https => "    SlotRecoveryPublicBaseUrl https://mycompany.com\n$from_files$rewrite") ]}
@{[ vhost(https_port => "    SlotRecoveryPublicBaseUrl https://mycompany.com:1234\n    SlotRecoveryTwilioAuthToken 12345\n" . rewrite('status')) ]}
@{[ vhost(http_port => "    SlotRecoveryPublicBaseUrl http://mycompany.com:1234\n    SlotRecoveryTwilioAuthToken 12345\n$rewrite") ]}
@{[ vhost(stripe_py => "    SlotRecoveryStripeWebhookSecret whsec_test_secret\n    SlotRecoveryStripeWebhookTolerance 10\n") ]}
@{[ vhost(http => "    SlotRecoveryPublicBaseUrl http://mycompany.com/\n    SlotRecoveryTwilioAuthToken 12345\n$rewrite") ]}
EOF_CONF
$h->write_conf;
$h->start;

my $ua = HTTP::Tiny->new(timeout => 30);

# POST form or JSON to a host of the throwaway server; the log lines it wrote.
sub call {
    my ($name, $method, $path, %o) = @_;
    my $mark = $h->log_size;
    my $res = $ua->request($method, "http://127.0.0.1:$port{$name}$path",
        { headers => { 'Content-Type' => $o{type} || 'application/x-www-form-urlencoded', %{ $o{headers} || {} } },
          defined $o{content} ? (content => $o{content}) : () });
    # The log line is written before the answer; poll briefly for the flush.
    my $log = '';
    my $deadline = time + 5;
    while (1) {
        $log = $h->log_since($mark);
        last if $log =~ /mod_slotrecovery: \S+ \S+: \d{3}/ || time > $deadline || !$o{expect_log};
        select undef, undef, undef, 0.05;
    }
    return ($res, $log);
}

sub unavailable_ok {
    my ($name, $method, $path, $directive, %o) = @_;
    my ($res, $log) = call($name, $method, $path, %o, expect_log => 1);
    my $what = "$name: $method $path";
    is $res->{status}, 503, "$what: 503" or diag "$res->{status} $res->{content}";
    ok defined $res->{headers}{'retry-after'} && $res->{headers}{'retry-after'} =~ /^\d+$/, '... with Retry-After'
        or diag explain $res->{headers};
    like $res->{content}, qr/"error":"[^"]*\Q$directive\E/, "... the body names $directive";
    like $log, qr/mod_slotrecovery: \Q$method\E \S+: 503 [^\n]*\Q$directive\E/, '... and a log line names it'
        or diag $log;
}

my @internal = ([GET => '/api/slot-openings/1'], [POST => '/api/shops'], [PATCH => '/api/shops/1'],
    [POST => '/api/shops/1/users'], [POST => '/api/customers'], [POST => '/api/appointments'],
    [GET => '/api/appointments/1'], [POST => '/api/appointments/1/cancel'], [POST => '/api/jobs/offer-loop'],
    [POST => '/api/jobs/sweep']);

# --- nothing configured ----------------------------------------------------------------
for my $c (@internal) {
    unavailable_ok(bare => @$c, 'SlotRecoveryInternalSecret', content => '{}', type => 'application/json',
        headers => { 'x-internal-secret' => 'i' x 40 });
}
unavailable_ok(bare => POST => '/api/twilio/inbound', 'SlotRecoveryTwilioAuthToken', content => 'From=%2B1&To=%2B2');
unavailable_ok(bare => POST => '/api/twilio/inbound', 'SlotRecoveryPublicBaseUrl', content => 'From=%2B1&To=%2B2');
unavailable_ok(bare => POST => '/api/twilio/status', 'SlotRecoveryTwilioAuthToken', content => 'MessageSid=SM1');
unavailable_ok(bare => POST => '/api/stripe/webhook', 'SlotRecoveryStripeWebhookSecret', content => '{}',
    type => 'application/json');

# --- only the internal secret: the API works, the webhooks still say what they lack --------
{
    my ($res) = call(internal_only => GET => '/api/slot-openings/999999999', headers => { 'x-internal-secret' => 'i' x 40 });
    is $res->{status}, 404, 'internal_only: the internal API answers (404 for an unknown id)'
        or diag "$res->{status} $res->{content}";
    like $res->{content}, qr/not found/, '... from the database';
    unavailable_ok(internal_only => POST => '/api/twilio/inbound', 'SlotRecoveryTwilioAuthToken', content => 'a=1');
    unavailable_ok(internal_only => POST => '/api/stripe/webhook', 'SlotRecoveryStripeWebhookSecret',
        content => '{}', type => 'application/json');
}
# Twilio webhooks need both the token and the public URL.
unavailable_ok(token_no_url => POST => '/api/twilio/inbound', 'SlotRecoveryPublicBaseUrl', content => 'a=1');
unavailable_ok(token_no_url => POST => '/api/twilio/status', 'SlotRecoveryPublicBaseUrl', content => 'a=1');
unavailable_ok(url_no_token => POST => '/api/twilio/inbound', 'SlotRecoveryTwilioAuthToken', content => 'a=1');
unavailable_ok(url_no_token => POST => '/api/twilio/status', 'SlotRecoveryTwilioAuthToken', content => 'a=1');

# --- the *File forms ---------------------------------------------------------------------
{
    my ($res) = call(https => GET => '/api/slot-openings/999999999', headers => { 'x-internal-secret' => 'f' x 40 });
    is $res->{status}, 404, 'SlotRecoveryInternalSecretFile: the secret from the file is accepted'
        or diag "$res->{status} $res->{content}";
    like $res->{content}, qr/slot opening not found/, '... (the unknown id is looked up)';
    ($res) = call(https => GET => '/api/slot-openings/999999999', headers => { 'x-internal-secret' => 'f' x 39 . 'g' });
    is $res->{status}, 401, '... another one is 401' or diag "$res->{status} $res->{content}";
    ($res) = call(https => GET => '/api/slot-openings/999999999',
        headers => { 'x-internal-secret' => 'f' x 40 . 'second line' });
    is $res->{status}, 401, "... the file's first line is the secret, not the first two joined"
        or diag "$res->{status} $res->{content}";

    my $body = '{"id":"evt_promises_file_form_' . time . '_' . $$ . '","type":"customer.created","data":{"object":{}}}';
    my $t = time;
    my $sig = hmac_sha256_hex("$t.$body", 'whsec_fromfile0123456789');
    ($res) = call(https => POST => '/api/stripe/webhook', content => $body, type => 'application/json',
        headers => { 'Stripe-Signature' => "t=$t,v1=$sig" });
    is $res->{status}, 200, 'SlotRecoveryStripeWebhookSecretFile: an event signed with the secret from the file: 200'
        or diag "$res->{status} $res->{content}";
    $sig = hmac_sha256_hex("$t.$body", 'whsec_fromfile0123456789' . "\n");
    ($res) = call(https => POST => '/api/stripe/webhook', content => $body, type => 'application/json',
        headers => { 'Stripe-Signature' => "t=$t,v1=$sig" });
    is $res->{status}, 400, '... signed with the file content including its newline: 400';
}

# --- Twilio's known-answer vectors -----------------------------------------------------------
my $params = 'CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212';
my $path = '/myapp.php?foo=1&bar=2';

sub vector_ok {
    my ($name, $sig, $what, %o) = @_;
    my $p = $o{path} || $path;
    my $content = $o{content} || $params;
    my $expect = $o{status} ? qr/MessageSid and MessageStatus are required/ : qr/MessageSid, From and To are required/;
    my ($res, $log) = call($name => POST => $p, content => $content, headers => { 'X-Twilio-Signature' => $sig },
        expect_log => 1);
    # The vector carries no MessageSid: past the signature the module answers 400 for that.
    is $res->{status}, 400, "$what: the signature is accepted (400 for the missing MessageSid, not 403)"
        or diag "$res->{status} $res->{content}\n$log";
    like $res->{content}, $expect, '... the body says so';
    unlike $log, qr/X-Twilio-Signature does not match/, '... no signature complaint in the log';
    # The same request with the signature off by one character.
    (my $bad = $sig) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
    ($res, $log) = call($name => POST => $p, content => $content, headers => { 'X-Twilio-Signature' => $bad },
        expect_log => 1);
    is $res->{status}, 403, '... with one character changed: 403';
    like $log, qr/mod_slotrecovery: POST \S+: 403 X-Twilio-Signature does not match \Q$o{url}\E/,
        "... logged with the URL the module signed ($o{url})" or diag $log if $o{url};
}

vector_ok(https => 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', 'https://mycompany.com, token from SlotRecoveryTwilioAuthTokenFile',
    url => 'https://mycompany.com/myapp.php?foo=1&bar=2');
# The example of Twilio's security docs: the same URL and token, Caller and From +12349013030.
vector_ok(https => '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', "Twilio's docs example (twilio.com/docs/usage/security)",
    content => 'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212');
vector_ok(https => 'kvajT1Ptam85bY51eRf/AJRuM3w=', 'https without a port, signed with :443 (the default port added)');
vector_ok(https_port => 'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    'the status webhook at https://mycompany.com:1234, signed without the port', status => 1,
    url => 'https://mycompany.com:1234/myapp.php?foo=1&bar=2');
vector_ok(http_port => 'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=', 'http://mycompany.com:1234, signed with the port');
vector_ok(http => '0ZXoZLH/DfblKGATFgpif+LLRf4=', 'http://mycompany.com/ (trailing slash dropped), signed with :80',
    url => 'http://mycompany.com/myapp.php?foo=1&bar=2');

# Repeated parameter names (twilio-python's duplicate vector): Digits twice.
vector_ok(https => 'IK+Dwps556ElfBT0I3Rgjkr1wJU=', 'repeated parameter names (Digits=5678&Digits=1234)',
    content => 'Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234');
vector_ok(https => 'IK+Dwps556ElfBT0I3Rgjkr1wJU=', '... in the other order',
    content => 'Digits=1234&Sid=CA123&Digits=5678&SidAccount=AC123');

# --- Stripe: the official library's own fixtures ------------------------------------------
# Stripe publishes no fixed signature vector (its docs' example header comes
# without its secret; stripe-python's tests/test_webhook.py signs at test time).
# So: stripe-python's fixtures (payload byte for byte, secret
# whsec_test_secret, tolerance 10), signed by another implementation than the
# suite's (the openssl command), and its header cases.
SKIP: {
    my ($openssl) = grep { -x } map { "$_/openssl" } split /:/, $ENV{PATH};
    skip 'no openssl command', 1 unless $openssl;
    my $payload = qq({\n  "id": "evt_test_webhook",\n  "object": "event",\n)
        . qq(  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n});
    my $sign = sub {
        my ($t) = @_;
        my $f = $h->write_file('stripe-payload', "$t.$payload");
        my $out = `$openssl dgst -sha256 -hmac whsec_test_secret -r $f`;
        return ($out =~ /^([0-9a-f]{64})/)[0];
    };
    my $t = time;
    my $sig = $sign->($t);
    like $sig, qr/^[0-9a-f]{64}$/, 'openssl signed the stripe-python fixture';
    my $post = sub {
        my ($header) = @_;
        return call(stripe_py => POST => '/api/stripe/webhook', content => $payload, type => 'application/json',
            headers => { 'Stripe-Signature' => $header }, expect_log => 1);
    };
    my ($res, $log) = $post->("t=$t,v1=$sig");
    unlike $log, qr/webhook: 400 (?:Stripe-Signature|no v1)/, 'test_valid_header_and_signature: the signature is accepted'
        or diag "$res->{status} $res->{content}\n$log";
    # The fixture has no "type" (every real event has one): past the signature, that is what is refused.
    like $res->{content}, qr/event without id or type/, '... the fixture is refused only for its missing type'
        or diag "$res->{status} $res->{content}";
    ($res, $log) = $post->("t=$t,v1=$sig,v1=bad_signature");
    unlike $log, qr/webhook: 400 (?:Stripe-Signature|no v1)/, 'test_header_contains_valid_signature: accepted';
    ($res) = $post->("t=$t,v0=$sig");
    is $res->{status}, 400, 'test_raise_on_no_signatures_with_expected_scheme (v0 only): 400';
    ($res) = $post->("t=$t,v1=bad_signature");
    is $res->{status}, 400, 'test_raise_on_no_valid_signatures_for_payload: 400';
    ($res) = $post->("i'm not even a real signature header");
    is $res->{status}, 400, 'test_raise_on_malformed_header: 400';
    my $old = $t - 15;
    ($res, $log) = $post->("t=$old,v1=" . $sign->($old));
    is $res->{status}, 400, 'test_raise_on_timestamp_outside_tolerance (15 s old, tolerance 10): 400';
    like $log, qr/tolerance/, '... for the timestamp' or diag $log;
}

$h->stop;

# --- a *File directive whose file is missing or unreadable: refused at configtest ----------
for my $d (qw(SlotRecoveryInternalSecretFile SlotRecoveryTwilioAuthTokenFile SlotRecoveryStripeSecretKeyFile
              SlotRecoveryStripeWebhookSecretFile)) {
    my $c = SlotRecovery::Httpd->new(body => "$d " . $h->dir . "/absent\n");
    my ($ok, $out) = $c->configtest;
    ok !$ok, "$d naming a missing file: configtest fails";
    like $out, qr/\Q$d\E: cannot open/, '... saying it cannot open it' or diag $out;
    $c = SlotRecovery::Httpd->new(body => "$d " . $h->dir . "\n");
    ($ok, $out) = $c->configtest;
    ok !$ok, "$d naming an unreadable file (a directory): configtest fails";
    like $out, qr/\Q$d\E: cannot (?:open|read)/, '... saying it cannot read it' or diag $out;
    if ($> != 0) {
        my $f = $c->write_file('noperm', "whsec_x\n");
        chmod 0000, $f;
        $c->{body} = "$d $f\n";
        $c->write_conf;
        ($ok, $out) = $c->configtest;
        ok !$ok, "$d naming a file without read permission: configtest fails";
    }
}

done_testing();
