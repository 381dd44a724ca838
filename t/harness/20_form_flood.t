# SPDX-License-Identifier: Apache-2.0
# Form bodies of every shape up to SlotRecoveryMaxBody (256 KiB), sent
# without a valid signature to the two Twilio webhooks and, as a logged-in
# user, to the dashboard's cancel form: each is refused with its 4xx (413 for
# more than 256 fields, 400 for a malformed %-escape, 415 for another content
# type, else the 403 of the signature or CSRF check), never a 500, with a log
# line; and 50 such requests grow the httpd children's memory (the sum of
# their VmRSS, and of their peak VmHWM) by less than 2 MB. Before the form
# reader was bounded, one 48 KiB body of "a=&" grew a child to 475 MB.
#
# SR_FORM_FLOOD_KIB=8 sends smaller bodies (to watch the old quadratic growth
# without exhausting the machine).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(auth grant);
use SlotRecovery::Flows qw(error_log_mark error_log_since);

my $size = ($ENV{SR_FORM_FLOOD_KIB} || 256) * 1024;
my $MAX_GROWTH_KB = 2048;

reset_all();

# A shop, a user of it and an appointment to cancel (it must stay booked).
my $shop = make_shop(name => 'Flood Salon', smsFrom => '+15005550601');
grant($shop->{id}, 'owner1');
my $c = make_customer($shop->{id}, name => 'Fay Flood', smsOptIn => json_false());
my $appt = make_appointment($shop->{id}, $c->{id});

my $logs = Apache::Test::vars('t_logs');

# $unit repeated up to exactly $n bytes.
sub fill {
    my ($unit, $n) = @_;
    return substr($unit x (int($n / length $unit) + 1), 0, $n);
}

my $pairs = sub { join '&', map { "f$_=v" } 1 .. $_[0] };
my $pad = sub {    # n fields, the last one long enough to make the body $size bytes
    my ($n) = @_;
    my $s = join('&', map { "f$_=v" } 1 .. $n - 1) . "&f$n=";
    return $s . ('x' x ($size - length $s));
};
# [ name, body, status at the webhooks, status at the dashboard, log line (a regex) ]
my @shapes = (
    [ '"a=&" repeated',              fill('a=&', $size),      413, 413, qr/more than 256 fields/ ],
    [ '"=&" repeated',               fill('=&', $size),       413, 413, qr/more than 256 fields/ ],
    [ '"a&" repeated (no values)',   fill('a&', $size),       413, 413, qr/more than 256 fields/ ],
    [ '257 short fields',            $pairs->(257),           413, 413, qr/more than 256 fields/ ],
    [ '257 fields in 256 KiB',       $pad->(257),             413, 413, qr/more than 256 fields/ ],
    [ '"&" repeated (no field)',     fill('&', $size),        403, 403, undef ],
    [ 'one huge value',              'Body=' . ('y' x ($size - 5)), 403, 403, undef ],
    [ 'one huge name',               ('n' x ($size - 2)) . '=v', 403, 403, undef ],
    [ 'one huge value of %FF',       'Body=' . ('%FF' x int(($size - 5) / 3)), 403, 403, undef ],
    [ 'one huge value of %00',       'Body=' . ('%00' x int(($size - 5) / 3)), 403, 403, undef ],
    [ '256 fields in 256 KiB',       $pad->(256),             403, 403, undef ],
    [ '"%zz" repeated',              fill('%zz', $size),      400, 400, qr/malformed %-escape in the form body at byte 0/ ],
    [ 'a huge value ending in "%"',  'Body=' . ('y' x ($size - 6)) . '%', 400, 400,
      qr/malformed %-escape in the form body at byte @{[ $size - 1 ]}\b/ ],
    [ 'a huge value ending in "%4"', 'Body=' . ('y' x ($size - 7)) . '%4', 400, 400, qr/malformed %-escape/ ],
    [ 'one byte over the limit',     'Body=' . ('y' x ($size - 4)), 413, 413, qr/request body larger than/ ],
);
# The limit is SlotRecoveryMaxBody, 256 KiB: with smaller bodies only this one shape differs.
$shapes[-1] = [ 'one byte over the limit', 'Body=' . ('y' x (262144 - 4)), 413, 413, qr/request body larger than/ ];

my @targets = (
    [ '/api/twilio/inbound', 2, { 'X-Twilio-Signature' => 'bm90LWEtc2lnbmF0dXJl' } ],
    [ '/api/twilio/status',  2, {} ],
    [ "/app/appointments/$appt->{id}/cancel", 3, auth('owner1') ],
);

sub post {
    my ($path, $body, $headers, %o) = @_;
    return api(POST => $path, undef, raw => $body, no_secret => 1, headers => $headers,
        content_type => $o{content_type} // 'application/x-www-form-urlencoded', timeout => 60);
}

# --- each shape at each target: its status and its log line ----------------------------
for my $t (@targets) {
    my ($path, $col, $headers) = @$t;
    for my $s (@shapes) {
        my ($what, $body) = @$s;
        my ($status, $re) = ($s->[$col], $s->[4]);
        my $offset = error_log_mark();
        my $r = post($path, $body, $headers);
        is $r->status, $status, "$path, $what (" . length($body) . " bytes): $status"
            or diag substr($r->dump, 0, 300);
        my $line = quotemeta("mod_slotrecovery: POST $path: $status");
        $re //= qr/./;
        like error_log_since($offset), qr/$line\b.*$re/, '... and a log line saying why';
    }
    # A form body must say it is one.
    my $offset = error_log_mark();
    my $r = post($path, 'a=b', $headers, content_type => 'application/json');
    is $r->status, 415, "$path, a form sent as application/json: 415" or diag $r->dump;
    like error_log_since($offset), qr/POST \Q$path\E: 415 .*application\/x-www-form-urlencoded/, '... logged';
}
is db_row('SELECT status FROM appointments WHERE id = ?', $appt->{id})->{status}, 'booked',
    'the appointment is still booked';
is db_count('inbound_messages'), 0, 'no inbound_messages row';

# --- memory: 50 more of them grow the children by under 2 MB -----------------------------
my $pid_file = Apache::Test::vars('t_pid_file') || "$logs/httpd.pid";
open my $pf, '<', $pid_file or die "$pid_file: $!";
chomp(my $parent = <$pf>);
close $pf;

# { pid => VmRSS in kB } of the parent's children (VmHWM, their peak, with 'VmHWM').
sub children_rss {
    my ($field) = @_;
    $field //= 'VmRSS';
    my %rss;
    for my $status (glob '/proc/[0-9]*/status') {
        open my $fh, '<', $status or next;
        my $s = do { local $/; <$fh> };
        close $fh;
        next unless $s =~ /^PPid:\s*(\d+)$/m && $1 == $parent;
        my ($pid) = $status =~ m{/proc/(\d+)/};
        $rss{$pid} = $s =~ /^$field:\s*(\d+) kB$/m ? $1 : 0;
    }
    return \%rss;
}

my @flood = map { my $t = $_; map { [ $t, $_ ] } @shapes[0, 1, 4, 6, 8, 11] } @targets;
my $round = sub {
    my ($n) = @_;
    my $bad = 0;
    for my $i (0 .. $n - 1) {
        my ($t, $s) = @{ $flood[$i % @flood] };
        my $r = post($t->[0], $s->[1], $t->[2]);
        $bad++ if $r->status != $s->[ $t->[1] ];
    }
    return $bad;
};
# The growth of the given children between two snapshots (kB).
sub growth {
    my ($from, $to, @pids) = @_;
    my $g = 0;
    $g += $to->{$_} - $from->{$_} for grep { exists $from->{$_} && exists $to->{$_} } @pids;
    return $g;
}
# How many of our refusals each child logged since $offset: { pid => n }.
sub served {
    my ($offset) = @_;
    my %n;
    my $log = error_log_since($offset);
    $n{$1}++ while $log =~ /\[pid (\d+):tid \d+\][^\n]*mod_slotrecovery: POST [^\n]*: 4\d\d /g;
    return \%n;
}
# Warm up until a round spawns no new child (the event MPM starts one when its
# idle threads run short) and the children settle: a child grows as it first
# runs code and its threads first serve such a body. A child that served few
# of the warm-up requests is still cold: only the warm ones are measured.
my $offset = error_log_mark();
my ($warm_bad, $before, $warmed) = (0, children_rss());
for (1 .. 10) {
    $warm_bad += $round->(scalar @flood);
    my $now = children_rss();
    $warmed = served($offset);
    my $new = grep { !exists $before->{$_} } keys %$now;
    my $cold = grep { ($warmed->{$_} // 0) < 10 } keys %$now;
    my $settled = !$new && !$cold && growth($before, $now, keys %$now) < 256;
    $before = $now;
    last if $settled;
}
is $warm_bad, 0, 'warming up: every answer as expected';
my $peak_before = children_rss('VmHWM');
$offset = error_log_mark();
is $round->(50), 0, '50 more: every answer as expected';
my $after = children_rss();
my $peak_after = children_rss('VmHWM');
my $measured = served($offset);
my @warm = sort grep { exists $after->{$_} && ($warmed->{$_} // 0) >= 10 } keys %$before;
my $by_warm = 0;
$by_warm += $measured->{$_} // 0 for @warm;
cmp_ok $by_warm, '>=', 25, 'the httpd children (PPid ' . $parent . ') that served 10 or more warm-up requests ('
    . join(', ', map { "$_: " . ($warmed->{$_} // 0) } sort keys %$before) . ') served most of the 50: '
    . join(', ', map { "$_: " . ($measured->{$_} // 0) } sort keys %$measured);
cmp_ok growth($before, $after, @warm), '<', $MAX_GROWTH_KB, "... and grew by under $MAX_GROWTH_KB kB: by "
    . growth($before, $after, @warm) . ' kB ('
    . join(', ', map { "$_: $before->{$_} -> $after->{$_} kB" } @warm) . ')';
# A transient blow-up (the old quadratic signing string) shows in the peak.
cmp_ok growth($peak_before, $peak_after, @warm), '<', $MAX_GROWTH_KB,
    "... and their peak (VmHWM) by under $MAX_GROWTH_KB kB: by " . growth($peak_before, $peak_after, @warm) . ' kB';

done_testing();
