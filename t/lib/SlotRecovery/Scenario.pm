# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::Scenario;

# Scenario helpers shared by t/api/*.t and t/loop/*.t (on top of
# SlotRecovery::Test): table counts for "nothing was written", the offer loop's
# moving parts (cancel, sweep, the job, driving time in the database), signed
# Twilio status callbacks, the module's configured values, JSON type checks,
# and parallel requests for the concurrency tests. See the POD at the end.

use strict;
use warnings;

use B ();
use Carp qw(croak);
use Exporter qw(import);
use File::Temp ();
use HTTP::Tiny ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use Test::More ();

use Apache::Test ();
use SlotRecovery::Test qw(:all);

our @EXPORT_OK = qw(
    table_counts counts_unchanged
    conf_value json_kind is_json_kind
    RFC3339_RE
    cancel sweep offer_loop slot_view offers_of live_offer
    expire_offer make_offer_due
    sent_messages messages_to
    local_hhmm
    status_callback status_callback_url
    parallel_requests server_spans overlap_ok
    log_mark watchdog_sweeps sweep_counts_ok
    future_slot_setup
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant RFC3339_RE => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

# ---------------------------------------------------------------------------
# "Nothing was written"

# { table => "N rows, md5 of the contents" } for every application table.
sub table_counts {
    my $tables = db()->selectcol_arrayref(q{
        SELECT tablename FROM pg_tables
         WHERE schemaname = 'public' AND tablename <> 'schema_migrations'
         ORDER BY tablename});
    my %state;
    for my $t (@$tables) {
        my $row = db_row(qq{SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
                              AS sum FROM "$t" t});
        $state{$t} = "$row->{n} rows, $row->{sum}";
    }
    return \%state;
}

# counts_unchanged($before, $name): every table holds the same rows, unchanged.
sub counts_unchanged {
    my ($before, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $after = table_counts();
    return Test::More::is_deeply($after, $before, $name);
}

# ---------------------------------------------------------------------------
# The server's configuration

my $EXTRA;
# conf_value('SlotRecoveryOfferRetryDelay', 30): the value in t/conf/extra.conf,
# or the default when the directive is not there.
sub conf_value {
    my ($directive, $default) = @_;
    unless (defined $EXTRA) {
        my $file = Apache::Test::vars('t_conf') . '/extra.conf';
        open my $fh, '<', $file or croak "$file: $!";
        local $/;
        $EXTRA = <$fh>;
    }
    return $EXTRA =~ /^\s*\Q$directive\E\s+(\S+)\s*$/mi ? $1 : $default;
}

# ---------------------------------------------------------------------------
# JSON types as they came over the wire (decode the raw body again: a value
# that has been used as a string would look like a string afterwards).

sub json_kind {
    my ($v) = @_;
    return 'null' unless defined $v;
    return 'boolean' if JSON::PP::is_bool($v);
    return lc ref $v if ref $v;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return 'string' if $flags & B::SVp_POK;
    return 'number' if $flags & (B::SVp_IOK | B::SVp_NOK);
    return 'unknown';
}

# is_json_kind($res, 'depositAmount', 'number', $name); 'customer.smsOptIn' nests.
sub is_json_kind {
    my ($res, $path, $kind, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $doc = eval { JSON::PP->new->utf8->allow_nonref->decode($res->body) };
    my $v = $doc;
    for my $k (split /\./, $path) {
        $v = ref $v eq 'HASH' ? $v->{$k} : undef;
    }
    return Test::More::is(json_kind($v), $kind, $name || "$path is a JSON $kind");
}

# ---------------------------------------------------------------------------
# The offer loop

sub cancel {
    my ($appointment_id, %o) = @_;
    return api(POST => "/api/appointments/$appointment_id/cancel", undef, %o);
}

sub sweep {
    my (%o) = @_;
    my $r = api(POST => '/api/jobs/sweep', undef, %o);
    croak 'POST /api/jobs/sweep: ' . $r->dump unless $r->status == 200 && ref $r->json eq 'HASH';
    return $r->json;
}

sub offer_loop {
    my ($slot_id, %o) = @_;
    return api(POST => '/api/jobs/offer-loop', { slotOpeningId => "$slot_id" }, %o);
}

sub slot_view {
    my ($slot_id) = @_;
    my $r = api(GET => "/api/slot-openings/$slot_id");
    croak "GET /api/slot-openings/$slot_id: " . $r->dump unless $r->status == 200;
    return $r->json;
}

# The offers of a slot opening, from the database, in creation order.
sub offers_of {
    my ($slot_id) = @_;
    return db_rows(q{
        SELECT id::text AS id, customer_id::text AS customer_id, status, attempts, last_error,
               provider_message_id, sent_at, expires_at, next_attempt_at,
               extract(epoch FROM expires_at - sent_at)::float8 AS ttl,
               extract(epoch FROM next_attempt_at - now())::float8 AS due_in,
               delivery_status
          FROM slot_offers WHERE slot_opening_id = ? ORDER BY slot_offers.id}, $slot_id);
}

# The slot's one live (pending or sent) offer, or undef.
sub live_offer {
    my ($slot_id) = @_;
    my @live = grep { $_->{status} eq 'pending' || $_->{status} eq 'sent' } @{ offers_of($slot_id) };
    croak "slot opening $slot_id has " . scalar(@live) . " live offers" if @live > 1;
    return $live[0];
}

# Drives time: the offer's expiry has passed.
sub expire_offer {
    my ($offer_id) = @_;
    my $n = db_do(q{UPDATE slot_offers SET expires_at = now() - interval '1 second'
                    WHERE id = ? AND status = 'sent'}, $offer_id);
    croak "offer $offer_id is not sent" unless $n == 1;
}

# Drives time: the pending offer's next attempt is due.
sub make_offer_due {
    my ($offer_id) = @_;
    my $n = db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 second'
                    WHERE id = ? AND status = 'pending'}, $offer_id);
    croak "offer $offer_id is not pending" unless $n == 1;
}

# The sends the Twilio stand-in accepted (201), oldest first.
sub sent_messages {
    return [ grep { ($_->{status} // 0) == 201 } @{ twilio_messages() } ];
}

# Every send attempt (accepted or not) to one number.
sub messages_to {
    my ($phone) = @_;
    return [ grep { ($_->{form}{To} // '') eq $phone } @{ twilio_messages() } ];
}

# "HH:MM" of now + $offset seconds in time zone $tz (PostgreSQL's zone data,
# as the module uses).
sub local_hhmm {
    my ($tz, $offset) = @_;
    my $row = db_row(q{SELECT to_char((now() + make_interval(secs => ?)) AT TIME ZONE ?, 'HH24:MI') AS t},
        $offset || 0, $tz);
    return $row->{t};
}

# ---------------------------------------------------------------------------
# Twilio status callbacks

sub status_callback_url {
    my ($prefix) = @_;
    return public_base_url() . ($prefix // '') . '/api/twilio/status';
}

# status_callback(\%params, prefix => '/mounted', signature => $sig | undef,
#                 sign_url => $url, token => $token)
sub status_callback {
    my ($params, %o) = @_;
    my $path = ($o{prefix} // '') . '/api/twilio/status';
    my $sig = exists $o{signature}
        ? $o{signature}
        : twilio_signature($o{sign_url} // status_callback_url($o{prefix}), $params, $o{token});
    my $body = join '&', map { _form_escape($_) . '=' . _form_escape($params->{$_}) } sort keys %$params;
    return api(POST => $path, undef, raw => $body, no_secret => 1,
        content_type => 'application/x-www-form-urlencoded',
        headers => [ defined $sig ? ('X-Twilio-Signature' => $sig) : () ]);
}

sub _form_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~ ])/sprintf '%%%02X', ord $1/ge;
    $s =~ tr/ /+/;
    return $s;
}

# ---------------------------------------------------------------------------
# Concurrency

# parallel_requests(\@requests): each { method, path, data } is sent by its own
# process, all released at the same moment; returns [{ status, json, body,
# span }] in the order given, span the id whose server-side span
# server_spans() reads (the request carries it in X-Test-Span).
my $SPAN = 0;
sub parallel_requests {
    my ($requests) = @_;
    my $dir = File::Temp->newdir;
    my @spans = map { sprintf 'p%d-%d-%d', $$, ++$SPAN, $_ } 0 .. $#$requests;
    pipe my $gate_r, my $gate_w or croak "pipe: $!";
    pipe my $ready_r, my $ready_w or croak "pipe: $!";
    my @pids;
    for my $i (0 .. $#$requests) {
        my $req = $requests->[$i];
        my $url = url($req->{path});
        my $pid = fork;
        croak "fork: $!" unless defined $pid;
        if (!$pid) {
            close $gate_w;
            close $ready_r;
            my $ua = HTTP::Tiny->new(timeout => 60, keep_alive => 0);
            syswrite $ready_w, '.';      # at the gate
            close $ready_w;
            my $buf;
            sysread $gate_r, $buf, 1;    # blocks until the parent closes its end
            my $res = $ua->request($req->{method} || 'POST', $url, {
                headers => { 'X-Internal-Secret' => secret(), 'Content-Type' => 'application/json',
                             'X-Test-Span' => $spans[$i] },
                (defined $req->{data} ? (content => JSON::PP->new->encode($req->{data})) : ()),
            });
            if (open my $out, '>', "$dir/$i") {
                print {$out} JSON::PP->new->encode({ status => $res->{status}, body => $res->{content} });
                close $out;
            }
            POSIX::_exit(0);    # no destructors: the parent's DBI handle is not ours
        }
        push @pids, $pid;
    }
    close $gate_r;
    close $ready_w;
    # Every child is at the gate (a byte each; EOF once all have closed their end).
    my $ready = 0;
    while (sysread $ready_r, my $buf, 64) { $ready += length $buf }
    close $ready_r;
    croak "parallel_requests: $ready of " . scalar(@pids) . ' children reached the gate' unless $ready == @pids;
    close $gate_w;
    waitpid $_, 0 for @pids;
    my @results;
    for my $i (0 .. $#$requests) {
        my $res = { status => 0, body => '' };
        if (open my $in, '<', "$dir/$i") {
            local $/;
            $res = JSON::PP->new->decode(<$in>);
        }
        $res->{json} = eval { JSON::PP->new->utf8->decode($res->{body}) };
        $res->{span} = $spans[$i];
        push @results, $res;
    }
    return \@results;
}

# server_spans(@ids): { id => [begin, end] }, epoch seconds: when httpd received
# and finished each request sent with X-Test-Span: id (t/conf/extra.conf.in's
# spans_log; a line is written just after the answer, so this polls for it).
sub server_spans {
    my (@ids) = @_;
    my %want = map { $_ => 1 } @ids;
    my %span;
    my $log = Apache::Test::vars('t_logs') . '/spans_log';
    wait_until(sub {
        if (open my $fh, '<', $log) {
            while (my $line = <$fh>) {
                my ($b, $e, $id) = $line =~ /^(\d+) (\d+) (\S+)$/ or next;
                $span{$id} = [ $b / 1e6, $e / 1e6 ] if $want{$id};
            }
        }
        keys %span == keys %want;
    }, timeout => 10, interval => 0.05);
    return \%span;
}

# overlap_ok(\@ids, $name, min => 2): the requests were in the server at the same
# time: at some instant at least `min` of them had been received and not yet
# finished (server-side spans). Fails, never skips, when they ran one after
# another. Returns that largest number.
sub overlap_ok {
    my ($ids, $name, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $min = $o{min} // 2;
    my $spans = server_spans(@$ids);
    my @ev = sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] }
        map { ([ $_->[0], 1 ], [ $_->[1], -1 ]) } values %$spans;
    my ($now, $max) = (0, 0);
    for (@ev) { $now += $_->[1]; $max = $now if $now > $max }
    Test::More::ok(keys %$spans == @$ids && $max >= $min,
        "$name: requests in the server at once: $max of " . scalar(@$ids) . " (at least $min)")
        or Test::More::diag('spans found: ' . scalar(keys %$spans) . ' of ' . scalar(@$ids));
    return $max;
}

# ---------------------------------------------------------------------------
# The watchdog's sweeps (SlotRecoverySweepInterval). The suite's server sweeps
# once an hour (t/conf/extra.conf.in), so it never does, between a test's
# database change and its POST /api/jobs/sweep, what the test counts. Its runs
# are logged ("sweep: ..."): sweep_counts_ok fails when one ran anyway.

sub _error_log { Apache::Test::vars('t_logs') . '/error_log' }

sub log_mark { -s _error_log() || 0 }

# One line of the watchdog's (sr_watchdog.c) added to %$sum: a sweep's
# ("sweep: N offers expired; N slots advanced, N expired") or a worker run's
# ("worker: N offers sent, N failed; ...; N slots advanced, N expired"), each
# counted in {sweeps}.
sub _add_watchdog_line {
    my ($sum, $line) = @_;
    if ($line =~ /sweep: (\d+) offers expired; (\d+) slots advanced, (\d+) expired/) {
        $sum->{offersExpired} += $1;
        $sum->{slotsAdvanced} += $2;
        $sum->{slotsExpired}  += $3;
    }
    elsif ($line =~ /worker: (\d+) offers sent, (\d+) failed; .*?; (\d+) slots advanced, (\d+) expired/) {
        $sum->{offersSent}    += $1;
        $sum->{offersFailed}  += $2;
        $sum->{slotsAdvanced} += $3;
        $sum->{slotsExpired}  += $4;
    }
    else {
        return 0;
    }
    $sum->{sweeps}++;
    return 1;
}

# The counters of the watchdog's sweeps and worker runs logged after $mark,
# summed (sweeps: how many were logged).
sub watchdog_sweeps {
    my ($mark) = @_;
    my %sum = map { $_ => 0 } qw(sweeps offersExpired offersSent offersFailed slotsAdvanced slotsExpired);
    open my $fh, '<', _error_log() or return \%sum;
    seek $fh, $mark, 0;
    while (my $line = <$fh>) {
        _add_watchdog_line(\%sum, $line);
    }
    return \%sum;
}

# sweep_counts_ok($report, \%expected, $mark, $name): the sweep's counters are
# exactly as expected, and no watchdog sweep ran since $mark (one would have
# done part of the work, or none: either way the counts would prove nothing).
sub sweep_counts_ok {
    my ($report, $expected, $mark, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my %got = map { $_ => $report->{$_} } keys %$expected;
    my $wd = defined $mark ? watchdog_sweeps($mark) : { sweeps => 0 };
    if ($wd->{sweeps}) {
        Test::More::fail($name);
        Test::More::diag("the suite's watchdog swept $wd->{sweeps} time(s) during the test: "
            . 'SlotRecoverySweepInterval in t/conf/extra.conf.in must keep it from sweeping during the suite');
        return 0;
    }
    return Test::More::is_deeply(\%got, $expected, $name);
}

# ---------------------------------------------------------------------------
# A common setup: a shop, the customer who will cancel, their future
# appointment, and $n more opted-in customers (the waitlist, in join order).
sub future_slot_setup {
    my (%o) = @_;
    my $shop = make_shop(%{ $o{shop} || {} });
    my $canceller = make_customer($shop->{id}, name => 'Canceller');
    my $starts = $o{starts_in} // 2 * 86400;
    my $appt = make_appointment($shop->{id}, $canceller->{id},
        startsAt => iso_in($starts), endsAt => iso_in($starts + ($o{length} // 3600)));
    my @waitlist = map { make_customer($shop->{id}, name => "Waiting $_") } 1 .. ($o{waiting} // 0);
    return { shop => $shop, canceller => $canceller, appointment => $appt, waitlist => \@waitlist };
}

1;

__END__

=head1 NAME

SlotRecovery::Scenario - scenario helpers for the mod_slotrecovery suite

=head1 FUNCTIONS

C<table_counts()>, C<counts_unchanged($before, $name)>: rows per application
table; a test that nothing was written.

C<conf_value($directive, $default)>: a directive's value in t/conf/extra.conf.

C<json_kind($v)>, C<is_json_kind($res, 'a.b', $kind)>: the JSON type of a
member of a response as sent (string, number, boolean, null, hash, array).

C<cancel($id)>, C<sweep()>, C<offer_loop($slot_id)>, C<slot_view($slot_id)>,
C<offers_of($slot_id)> (database rows, with ttl and due_in in seconds),
C<live_offer($slot_id)>, C<expire_offer($offer_id)>,
C<make_offer_due($offer_id)>, C<sent_messages()>, C<messages_to($phone)>,
C<local_hhmm($tz, $offset)>.

C<status_callback(\%params, prefix =E<gt> ..., signature =E<gt> ...,
sign_url =E<gt> ..., token =E<gt> ...)>: a Twilio status callback, signed
unless told otherwise.

C<parallel_requests(\@requests)>: the requests sent at once by forked
processes.

C<log_mark()>, C<watchdog_sweeps($mark)>, C<sweep_counts_ok($report,
\%expected, $mark, $name)>: the sweep's counters, exactly, and a failure if
the suite's watchdog swept since C<$mark> (it must not: it sweeps once an hour).

C<future_slot_setup(shop =E<gt> {...}, waiting =E<gt> $n, starts_in =E<gt> $s)>.

=cut
