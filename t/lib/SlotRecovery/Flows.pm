# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::Flows;

# Helpers shared by t/booking/*.t and t/stripe/*.t: a slot opening offered to
# a waitlist, signed Twilio inbound SMS, signed Stripe events. Built on
# SlotRecovery::Test; see the POD at the end.

use strict;
use warnings;

use Apache::Test ();
use Carp qw(croak);
use Exporter qw(import);
use File::Basename ();
use Test::More ();
use Time::HiRes ();

use SlotRecovery::Test qw(:all);
use SlotRecovery::TestEnv ();

our @EXPORT_OK = qw(
    scenario cancel_slot sweep
    sms sms_request next_sid form_encode twiml_message is_twiml TOO_LATE_RE
    offers offer_of live_offer offer_sms_to sms_to slot appointment_of_slot payment_of
    stripe_event post_stripe_event pg_data_dir pg_stop pg_start stoppable_pg_cluster
    processing_booking
    stripe_refunds make_payment_due installation_id error_log_mark error_log_since refusal_logged_ok
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant TOO_LATE_RE => qr/^Sorry, that slot has been taken or the offer has ended\./;

my $SCENARIO = 0;
my $SID = 0;

# ---------------------------------------------------------------------------
# Data

# scenario(%o): a shop, a canceller and N waitlist customers (with a saved card
# unless told otherwise), an appointment of the canceller, cancelled through
# POST /api/appointments/{id}/cancel so the first customer gets an offer.
#   shop => {...}            make_shop overrides
#   customers => 3           how many waitlist customers
#   cards => [1, 0, 1]       which ones have stripeCustomerId/stripePaymentMethodId (default all)
#   customer => [{...}, ...] per-customer overrides
#   starts_in => 2*86400     seconds from now to the slot's start
#   cancel => 0              don't cancel (no slot opening yet)
# Returns { shop, canceller, customers => [...], appointment, slot_id, cancel }.
sub scenario {
    my %o = @_;
    my $n = ++$SCENARIO;
    my $shop = make_shop(%{ $o{shop} || {} });
    my $canceller = make_customer($shop->{id}, name => "Canceller $n");
    my @customers;
    my $count = defined $o{customers} ? $o{customers} : 3;
    for my $i (1 .. $count) {
        my $card = $o{cards} ? $o{cards}[ $i - 1 ] : 1;
        my %extra = $card
            ? (stripeCustomerId => "cus_${n}_$i", stripePaymentMethodId => 'pm_card_visa')
            : ();
        push @customers, make_customer($shop->{id}, name => "Waiting $n.$i", %extra,
            %{ ($o{customer} || [])->[ $i - 1 ] || {} });
    }
    my $starts = defined $o{starts_in} ? $o{starts_in} : 2 * 86400;
    my $appt = make_appointment($shop->{id}, $canceller->{id},
        startsAt => iso_in($starts), endsAt => iso_in($starts + 1800));
    my $s = { shop => $shop, canceller => $canceller, customers => \@customers, appointment => $appt };
    return $s if defined $o{cancel} && !$o{cancel};
    my $c = cancel_slot($appt->{id});
    $s->{cancel}  = $c;
    $s->{slot_id} = $c->{slot_id};
    return $s;
}

# Cancels an appointment through the API; dies unless 200 and a slot opened.
sub cancel_slot {
    my ($appointment_id) = @_;
    my $r = api(POST => "/api/appointments/$appointment_id/cancel");
    croak 'cancel failed: ' . $r->dump unless $r->status == 200 && ref $r->json eq 'HASH';
    my $slot = db_row('SELECT id FROM slot_openings WHERE source_appointment_id = ?', $appointment_id);
    croak "cancel of $appointment_id opened no slot: " . $r->dump unless $slot;
    return { response => $r, slot_id => "$slot->{id}" };
}

# POST /api/jobs/sweep (expires due offers and moves their slots on).
sub sweep {
    my $r = api(POST => '/api/jobs/sweep');
    croak 'sweep failed: ' . $r->dump unless $r->status == 200;
    return $r->json;
}

sub offers {
    my ($slot_id) = @_;
    return db_rows('SELECT * FROM slot_offers WHERE slot_opening_id = ? ORDER BY id', $slot_id);
}

sub offer_of {
    my ($slot_id, $customer_id) = @_;
    return db_row('SELECT * FROM slot_offers WHERE slot_opening_id = ? AND customer_id = ?',
        $slot_id, $customer_id);
}

sub live_offer {
    my ($slot_id) = @_;
    return db_row(q{SELECT * FROM slot_offers WHERE slot_opening_id = ? AND status IN ('pending', 'sent')},
        $slot_id);
}

sub slot { db_row('SELECT * FROM slot_openings WHERE id = ?', $_[0]) }

# Every appointment booked from a slot opening (any status), oldest first.
sub appointment_of_slot {
    my ($slot_id) = @_;
    return db_rows('SELECT * FROM appointments WHERE source_slot_opening_id = ? ORDER BY id', $slot_id);
}

sub payment_of { db_row('SELECT * FROM payments WHERE appointment_id = ?', $_[0]) }

# The SMS the fake Twilio got for a phone number (all, or only offers).
sub sms_to {
    my ($phone) = @_;
    return [ grep { ($_->{form}{To} // '') eq $phone } @{ twilio_messages() } ];
}

sub offer_sms_to {
    my ($phone) = @_;
    return [ grep { ($_->{form}{Body} // '') =~ /Reply YES/ } @{ sms_to($phone) } ];
}

# ---------------------------------------------------------------------------
# Twilio inbound SMS

sub next_sid {
    ++$SID;
    return sprintf 'SM%08x%08x%016x', $$, $SID, int(Time::HiRes::time() * 1e6);
}

# application/x-www-form-urlencoded, as Twilio sends it: values are character
# strings, sent as UTF-8.
sub form_encode {
    my ($params) = @_;
    my $enc = sub {
        my $s = shift;
        utf8::encode($s);    # characters -> UTF-8 bytes
        $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
        return $s;
    };
    return join '&', map { $enc->($_) . '=' . $enc->($params->{$_}) } sort keys %$params;
}

# sms_request($from, $body, %o) -> { path, params, body, headers, sid, sign_url }
#   sid => 'SM...'          MessageSid (default: a fresh one)
#   to => '+1...'           the shop's number (default +15005550006)
#   query => 'a=b'          query string of the webhook URL
#   sign_url => $url        the URL the signature is computed over
#   token => $t             sign with this auth token
#   signature => $s | undef send this X-Twilio-Signature (undef: none)
#   extra => {...}          more form fields (signed); drop => [names] removes some
#   sign_params => {...}    compute the signature over these fields instead
sub sms_request {
    my ($from, $body, %o) = @_;
    my $sid = defined $o{sid} ? $o{sid} : next_sid();
    my %p = (
        ToCountry     => 'US',
        ToState       => 'CA',
        SmsMessageSid => $sid,
        NumMedia      => '0',
        ToCity        => '',
        FromZip       => '',
        SmsSid        => $sid,
        FromState     => 'NY',
        SmsStatus     => 'received',
        FromCity      => '',
        Body          => $body,
        FromCountry   => 'US',
        To            => defined $o{to} ? $o{to} : '+15005550006',
        ToZip         => '',
        NumSegments   => '1',
        MessageSid    => $sid,
        AccountSid    => twilio_account_sid(),
        From          => $from,
        ApiVersion    => '2010-04-01',
        %{ $o{extra} || {} },
    );
    delete @p{ @{ $o{drop} || [] } };
    my $path = '/api/twilio/inbound' . (defined $o{query} ? "?$o{query}" : '');
    my $sign_url = defined $o{sign_url} ? $o{sign_url} : public_base_url() . $path;
    my %headers;
    if (exists $o{signature}) {
        $headers{'X-Twilio-Signature'} = $o{signature} if defined $o{signature};
    }
    else {
        my %signed = %p;
        utf8::encode($_) for values %signed;
        $headers{'X-Twilio-Signature'} = twilio_signature($sign_url, $o{sign_params} || \%signed, $o{token});
    }
    $headers{'User-Agent'} = 'TwilioProxy/1.1';
    return { path => $path, params => \%p, body => form_encode(\%p), headers => \%headers,
             sid => $sid, sign_url => $sign_url };
}

# sms($from, $body, %o): sends it; the response gets {sid} and {message} (the
# TwiML <Message> text, undef when there is none).
sub sms {
    my ($from, $body, %o) = @_;
    my $req = sms_request($from, $body, %o);
    my $r = api(POST => $req->{path}, undef, raw => $req->{body},
        content_type => 'application/x-www-form-urlencoded', no_secret => 1, headers => $req->{headers});
    $r->{sid} = $req->{sid};
    $r->{message} = twiml_message($r->body);
    return $r;
}

sub _unescape_xml {
    my $s = shift;
    $s =~ s/&#x([0-9a-fA-F]+);/chr hex $1/ge;
    $s =~ s/&#(\d+);/chr $1/ge;
    $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;
    $s =~ s/&quot;/"/g;
    $s =~ s/&apos;/'/g;
    $s =~ s/&amp;/&/g;
    return $s;
}

# The text of the one <Message> in a TwiML answer; undef if there is none.
sub twiml_message {
    my ($xml) = @_;
    return undef unless defined $xml;
    return undef unless $xml =~ m{<Message>(.*?)</Message>}s;
    return _unescape_xml($1);
}

# is_twiml($r): a 200 text/xml TwiML <Response> document.
sub is_twiml {
    my ($r) = @_;
    return $r->status == 200
        && ($r->content_type // '') =~ m{^text/xml\b}
        && ($r->body // '') =~ m{^(?:<\?xml[^>]*\?>\s*)?<Response>.*</Response>\s*$}s;
}

# ---------------------------------------------------------------------------
# Stripe events

my $EVT = 0;

# stripe_event(%o) -> the raw JSON of an event, as Stripe sends it.
#   type => 'payment_intent.payment_failed' | 'payment_intent.succeeded' | ...
#   pi => 'pi_...'            the PaymentIntent id
#   status => ...             its status (default from the type)
#   amount, currency          its amount (default 2000) and currency (default usd)
#   customer => 'cus_...'     its customer (default none: null)
#   metadata => {...}         its metadata
#   message => '...'          last_payment_error.message (payment_failed)
#   id => 'evt_...'           the event id (default: a fresh one)
#   object => {...}           data.object as given (wins over the above)
sub stripe_event {
    my %o = @_;
    my $type = $o{type} || 'payment_intent.payment_failed';
    my $id = $o{id} || sprintf('evt_%s%06d%d', 'T' x 4, ++$EVT, $$);
    my $object = $o{object};
    unless ($object) {
        my $failed = $type eq 'payment_intent.payment_failed';
        $object = {
            id       => $o{pi},
            object   => 'payment_intent',
            amount   => $o{amount} // 2000,
            currency => $o{currency} // 'usd',
            customer => $o{customer},
            status   => $o{status} // ($failed ? 'requires_payment_method'
                                        : $type eq 'payment_intent.succeeded' ? 'succeeded' : 'processing'),
            metadata => $o{metadata} || {},
            last_payment_error => $failed
                ? { type => 'card_error', code => 'card_declined', decline_code => 'generic_decline',
                    message => $o{message} // 'Your card was declined.' }
                : undef,
            livemode => json_false(),
        };
    }
    return encode_json({
        id               => $id,
        object           => 'event',
        api_version      => '2024-06-20',
        created          => time,
        livemode         => json_false(),
        pending_webhooks => 1,
        request          => { id => undef, idempotency_key => undef },
        type             => $type,
        data             => { object => $object },
    });
}

# post_stripe_event($payload, %o): POST /api/stripe/webhook, signed unless
#   header => $h | undef    Stripe-Signature as given (undef: none)
#   timestamp => $t, secret => $s   for the signature
sub post_stripe_event {
    my ($payload, %o) = @_;
    my %headers;
    if (exists $o{header}) {
        $headers{'Stripe-Signature'} = $o{header} if defined $o{header};
    }
    else {
        $headers{'Stripe-Signature'} = stripe_signature($payload,
            (defined $o{timestamp} ? (timestamp => $o{timestamp}) : ()),
            (defined $o{secret} ? (secret => $o{secret}) : ()));
    }
    $headers{'User-Agent'} = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';
    return api(POST => '/api/stripe/webhook', undef, raw => $payload,
        content_type => 'application/json; charset=utf-8', no_secret => 1, headers => \%headers,
        ($o{timeout} ? (timeout => $o{timeout}) : ()));
}

# ---------------------------------------------------------------------------
# The suite's PostgreSQL cluster (t/run-suite: sr_pg_start DIR PORT, data in DIR/data)

sub pg_data_dir {
    my ($dir) = db()->selectrow_array('SHOW data_directory');
    return $dir;
}

# stoppable_pg_cluster(): the suite's private PostgreSQL cluster directory, for
# pg_stop/pg_start; where it cannot be stopped here (not root, another
# server), the file cannot run (cannot_run: skipped, failed under CI=true).
sub stoppable_pg_cluster {
    my $data_dir = eval { pg_data_dir() };
    my $cluster = $data_dir ? File::Basename::dirname($data_dir) : undef;
    my $why = $> != 0          ? 'needs root to run pg_ctl as postgres'
            : !$cluster        ? 'cannot read the data directory (SHOW data_directory)'
            : !-f "$data_dir/postmaster.pid" ? "no postmaster.pid in $data_dir"
            : !-d '/usr/lib/postgresql'      ? 'no PostgreSQL server binaries'
            : SlotRecovery::TestEnv::get('SR_PG_HOST') ne '127.0.0.1' ? 'PostgreSQL is not the local private cluster'
            : undef;
    return $why ? cannot_run("cannot stop PostgreSQL here: $why") : $cluster;
}

sub _lib_sh {
    my ($call) = @_;
    my $lib = SlotRecovery::TestEnv::top_dir() . '/scripts/lib.sh';
    my @cmd = ('bash', '-c', qq{. "\$1" && $call}, 'pg', $lib);
    system(@cmd) == 0 or croak "@cmd failed: $?";
}

# pg_stop($cluster_dir), pg_start($cluster_dir): scripts/lib.sh's sr_pg_stop / sr_pg_start.
sub pg_stop {
    my ($dir) = @_;
    eval { db()->disconnect };    # db() reconnects once the handle no longer pings
    local $ENV{SR_LOG_TAG} = 'pg_stop';
    _lib_sh(qq{sr_pg_stop '$dir'});
}

sub pg_start {
    my ($dir) = @_;
    local $ENV{SR_LOG_TAG} = 'pg_start';
    _lib_sh(qq{sr_pg_start '$dir' '} . SlotRecovery::TestEnv::get('SR_PG_PORT') . q{'});
}

# ---------------------------------------------------------------------------
# A booking whose deposit is processing at Stripe

# processing_booking(%o): resets the database and both stand-ins, then a
# scenario(%o) (default: 3 waitlist customers) whose first customer books with
# a signed YES while the fake Stripe answers "processing". Two setup tests:
# "setup: booked" and "setup: payment processing". Returns (scenario,
# appointment, payment); the fake Stripe's behaviour is reset afterwards.
sub processing_booking {
    my %o = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ status => 'processing' });
    my $s = scenario(%o);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    Test::More::like($r->{message} // '', qr/^Booked:/, 'setup: booked') or Test::More::diag($r->dump);
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = payment_of($a->{id});
    Test::More::is($p->{status}, 'processing', 'setup: payment processing');
    stripe_behave({});
    return ($s, $a, $p);
}

# ---------------------------------------------------------------------------
# Deposits: refunds, retries, the log

# The refund requests (POST /v1/refunds) the fake Stripe got, oldest first.
sub stripe_refunds {
    [ grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/refunds' } @{ stripe_requests() } ];
}

# Drives time: the payment's next attempt (or its refund's) is due.
sub make_payment_due {
    my ($payment_id) = @_;
    db_do(q{UPDATE payments SET next_attempt_at = now() - interval '1 second' WHERE id = ?}, $payment_id);
    db_do(q{UPDATE refunds SET next_attempt_at = now() - interval '1 second' WHERE payment_id = ?}, $payment_id);
}

# This installation's id (migration 005).
sub installation_id { db_row('SELECT id FROM installation')->{id} }

sub _error_log { Apache::Test::vars('t_logs') . '/error_log' }

# error_log_mark(): where the error log ends now; error_log_since($mark): what was logged after it.
sub error_log_mark { -s _error_log() || 0 }

sub error_log_since {
    my ($mark) = @_;
    open my $fh, '<', _error_log() or return '';
    seek $fh, $mark, 0;
    local $/;
    return scalar <$fh> // '';
}

# refusal_logged_ok($label, $status, $code_returning_response, $path_in_log):
# the request $code makes is answered $status, and the error log gets a
# "mod_slotrecovery:" line at warn that names $path (README: every refused
# request is logged). Returns the response.
sub refusal_logged_ok {
    my ($label, $status, $code, $path) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $mark = error_log_mark();
    my $r = $code->();
    Test::More::is($r->status, $status, "$label: $status") or Test::More::diag($r->dump);
    my $log = '';
    my $line = qr/\[slotrecovery:warn\][^\n]*mod_slotrecovery: [^\n]*\Q$path\E[^\n]*/;
    wait_until(sub { ($log = error_log_since($mark)) =~ $line }, timeout => 5);
    Test::More::like($log, $line, '... a mod_slotrecovery: line at warn names it')
        or Test::More::diag("log since the request:\n$log");
    return $r;
}

1;

__END__

=head1 NAME

SlotRecovery::Flows - scenarios, signed Twilio SMS and Stripe events for the booking tests

=head1 SYNOPSIS

  use SlotRecovery::Test qw(:all);
  use SlotRecovery::Flows qw(:all);

  reset_db(); twilio_reset(); stripe_reset();
  my $s = scenario(customers => 2);            # slot opened, customer 1 offered
  my ($c1, $c2) = @{ $s->{customers} };
  my $r = sms($c1->{phone}, 'YES');            # signed POST /api/twilio/inbound
  like $r->{message}, qr/^Booked:/;
  my $pi = payment_of(appointment_of_slot($s->{slot_id})->[0]{id})->{stripe_payment_intent_id};
  $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $pi));

=head1 FUNCTIONS

C<scenario(%o)>, C<cancel_slot($appointment_id)>, C<sweep()>; row helpers
C<offers($slot)>, C<offer_of($slot, $customer)>, C<live_offer($slot)>,
C<slot($id)>, C<appointment_of_slot($slot)>, C<payment_of($appointment)>;
stand-in helpers C<sms_to($phone)>, C<offer_sms_to($phone)>; Twilio:
C<sms($from, $body, %o)>, C<sms_request(...)>, C<twiml_message($xml)>,
C<is_twiml($r)>, C<next_sid()>, C<form_encode(\%p)>, C<TOO_LATE_RE>; Stripe:
C<stripe_event(%o)>, C<post_stripe_event($payload, %o)>,
C<processing_booking(%scenario_opts)> (a booking whose deposit is processing:
two setup tests; returns scenario, appointment, payment); PostgreSQL:
C<pg_data_dir()>, C<pg_stop($dir)>, C<pg_start($dir)>. Deposits:
C<stripe_refunds()> (the POST /v1/refunds the fake Stripe got),
C<make_payment_due($payment_id)> (its next attempt, and its refund's, is due),
C<installation_id()>, C<error_log_mark()> and C<error_log_since($mark)> (the error log
written after a mark).

=cut
