# SPDX-License-Identifier: Apache-2.0
# The dashboard's figures are kept per shop and day as the state changes
# (migration 013: slot_figures_daily, slot_fill_times_daily,
# slot_fill_seconds, kept by triggers). Real changes over HTTP: a cancel opens a slot, a signed YES fills
# it, payment_intent.payment_failed reopens it, a second YES and
# payment_intent.succeeded collect its deposit, the sweep expires a slot too
# close to its start, a third slot is filled with a known time to fill, the
# shop's time zone changes (PATCH /api/shops/{id}). After each: the daily
# rows equal a recomputation from slot_openings and payments, and
# /app/appointments, unfiltered and filtered to each day (and to ranges),
# shows what the old per-view scan (sr_dash_figures) computes.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Dashboard qw(page tree figures iso_at cancel_api sms_yes);

binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

reset_all();
stripe_behave({ status => 'processing' });

my $shop = make_shop(name => 'Figures Shop', timezone => 'Asia/Kolkata', smsFrom => '+15005550131',
    depositAmount => 2000, currency => 'usd');
{
    my $r = api(POST => "/api/shops/$shop->{id}/users", { username => 'owner1' });
    is $r->status, 201, 'setup: grant owner1' or diag $r->dump;
}
my @cancellers = map { make_customer($shop->{id}, name => "Canceller $_", smsOptIn => json_false()) } 1 .. 3;
my @waiting = map {
    make_customer($shop->{id}, name => "Waiting $_", phone => "+1555888000$_", stripeCustomerId => "cus_fig_$_",
        stripePaymentMethodId => 'pm_card_visa')
} 1 .. 3;

# Three slots on three days, at 20:00 UTC (01:30 the next day in Kolkata, so
# the shop's zone decides the day).
my $day0 = floor(time / 86400) * 86400;
my @at = map { $day0 + $_ * 86400 + 20 * 3600 } 3, 4, 6;
my @appts = map { make_appointment($shop->{id}, $cancellers[$_]{id}, startsAt => iso_at($at[$_]),
        endsAt => iso_at($at[$_] + 1800)) } 0 .. 2;

# --- what the figures must be ---------------------------------------------------------

# The old per-view scan, verbatim (status filter NULL, the date filter on the
# slot's date in the shop's zone).
sub scanned {
    my ($from, $to) = @_;
    return db_row(q{
        SELECT count(*) AS opened, count(*) FILTER (WHERE o.status = 'filled') AS filled,
               count(*) FILTER (WHERE o.status = 'expired') AS expired,
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
                 o.filled_at - o.created_at)) FILTER (WHERE o.status = 'filled'))::bigint AS median_fill_seconds,
               COALESCE(sum(CASE WHEN o.status = 'filled' THEN (SELECT p.amount FROM payments p
                 WHERE p.appointment_id = o.filled_by_appointment_id AND p.status = 'succeeded') END), 0) AS deposits
          FROM slot_openings o JOIN shops s ON s.id = o.shop_id
         WHERE o.shop_id = ?
           AND (?::date IS NULL OR o.starts_at >= (?::date)::timestamp AT TIME ZONE s.timezone)
           AND (?::date IS NULL OR o.starts_at < ((?::date) + 1)::timestamp AT TIME ZONE s.timezone)},
        $shop->{id}, $from, $from, $to, $to);
}

sub duration {
    my ($s) = @_;
    return "@{[ $s / 3600 ]} h" if $s >= 3600 && $s % 3600 == 0;
    return int($s / 60) . ' min' if $s >= 60;
    return "$s s";
}

# The cards the page shows for a scan's row.
sub cards {
    my ($f) = @_;
    return {
        'Slots opened'        => "$f->{opened}",
        Filled                => "$f->{filled}",
        Expired               => "$f->{expired}",
        'Recovery rate'       => $f->{opened} ? int(($f->{filled} * 100 + int($f->{opened} / 2)) / $f->{opened}) . '%' : '—',
        'Median time to fill' => defined $f->{median_fill_seconds} ? duration($f->{median_fill_seconds}) : '—',
        'Deposits collected'  => sprintf('%d.%02d USD', int($f->{deposits} / 100), $f->{deposits} % 100),
    };
}

sub page_figures {
    my ($query) = @_;
    my $r = page(owner1 => '/app/appointments' . ($query ? "?$query" : ''));
    return undef unless $r->status == 200;
    my $t = tree($r);
    my $f = figures($t);
    $t->delete;
    return $f;
}

# From scratch, without the module's day function: the slot's local date.
my $WANT_DAILY = q{
    SELECT o.shop_id, (o.starts_at AT TIME ZONE s.timezone)::date::text AS day, count(*) AS opened,
           count(*) FILTER (WHERE o.status = 'filled') AS filled, count(*) FILTER (WHERE o.status = 'expired') AS expired,
           COALESCE(sum(CASE WHEN o.status = 'filled' THEN (SELECT p.amount FROM payments p
             WHERE p.appointment_id = o.filled_by_appointment_id AND p.status = 'succeeded') END), 0) AS deposits
      FROM slot_openings o JOIN shops s ON s.id = o.shop_id GROUP BY 1, 2 ORDER BY 1, 2};
# A day whose openings all moved away keeps a row of zeros: it counts nothing.
my $GOT_DAILY = q{
    SELECT shop_id, day::text AS day, opened, filled, expired, deposits FROM slot_figures_daily
     WHERE (opened, filled, expired, deposits) <> (0, 0, 0, 0) ORDER BY 1, 2};
my $WANT_FILLS = q{
    SELECT o.shop_id, (o.starts_at AT TIME ZONE s.timezone)::date::text AS day,
           (extract(epoch FROM o.filled_at - o.created_at) * 1000000)::bigint AS fill_usec, count(*) AS n
      FROM slot_openings o JOIN shops s ON s.id = o.shop_id WHERE o.status = 'filled' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3};
my $GOT_FILLS = q{SELECT shop_id, day::text AS day, fill_usec, n FROM slot_fill_times_daily ORDER BY 1, 2, 3};
my $WANT_SECONDS = q{
    SELECT shop_id, floor(extract(epoch FROM filled_at - created_at))::bigint AS fill_second, count(*) AS n
      FROM slot_openings WHERE status = 'filled' GROUP BY 1, 2 ORDER BY 1, 2};
my $GOT_SECONDS = q{SELECT shop_id, fill_second, n FROM slot_fill_seconds ORDER BY 1, 2};

# After a change: the daily rows, then the page unfiltered, filtered to each
# day with an opening (and the days either side), from only, to only, and a
# range of two days.
sub figures_ok {
    my ($label) = @_;
    is_deeply db_rows($GOT_DAILY), db_rows($WANT_DAILY), "$label: slot_figures_daily = a recomputation";
    is_deeply db_rows($GOT_FILLS), db_rows($WANT_FILLS), "$label: slot_fill_times_daily = a recomputation";
    is_deeply db_rows($GOT_SECONDS), db_rows($WANT_SECONDS), "$label: slot_fill_seconds = a recomputation";
    is_deeply page_figures(''), cards(scanned(undef, undef)), "$label: the page shows the scan's figures";
    my $days = db_rows(q{SELECT DISTINCT (o.starts_at AT TIME ZONE s.timezone)::date AS d,
                                ((o.starts_at AT TIME ZONE s.timezone)::date - 1)::text AS before,
                                ((o.starts_at AT TIME ZONE s.timezone)::date + 1)::text AS after
                           FROM slot_openings o JOIN shops s ON s.id = o.shop_id WHERE o.shop_id = ? ORDER BY 1},
        $shop->{id});
    my (@got, @want);
    for my $d (@$days) {
        for my $q ([ $d->{d}, $d->{d} ], [ $d->{before}, $d->{before} ], [ $d->{d}, undef ], [ undef, $d->{d} ],
            [ $d->{before}, $d->{after} ]) {
            my ($from, $to) = @$q;
            my $query = join '&', ($from ? "from=$from" : ()), ($to ? "to=$to" : ());
            push @got,  { $query => page_figures($query) };
            push @want, { $query => cards(scanned($from, $to)) };
        }
    }
    is_deeply \@got, \@want, "$label: ... and filtered by dates (" . scalar(@$days) . ' days with openings)';
}

sub yes_from {
    my ($slot) = @_;
    my $offer = live_offer($slot);
    my ($c) = grep { $offer && $_->{id} eq $offer->{customer_id} } @waiting;
    my $r = sms_yes($c ? $c->{phone} : '+15550000000', '+15005550131');
    is $r->status, 200, "setup: YES for slot $slot answered 200" or diag $r->dump;
    return $c;
}

# The PaymentIntent of a booking's payment, once the worker has created it,
# and the metadata it was created with (the webhook checks it is ours).
sub intent_of {
    my ($slot) = @_;
    my $p = wait_until(sub {
        my $s = slot($slot);
        my $p = $s->{filled_by_appointment_id} && payment_of($s->{filled_by_appointment_id});
        $p && $p->{stripe_payment_intent_id} ? $p : undef;
    });
    ok $p, "setup: the deposit of slot $slot has a PaymentIntent" or return;
    my ($req) = grep { ($_->{response}{id} // '') eq $p->{stripe_payment_intent_id} } @{ stripe_payment_intents() };
    my %meta = $req ? map { (my $m = $_) =~ s/^metadata\[(.*)\]$/$1/; ($m => $req->{form}{$_}) }
        grep { /^metadata\[/ } keys %{ $req->{form} } : ();
    return ($p, \%meta);
}

figures_ok('no slot openings');

# --- S1: cancel, YES, payment_failed, YES, payment_intent.succeeded ------------------------
my $s1 = cancel_api($appts[0]{id});
is slot($s1)->{status}, 'open', 'setup: S1 open';
figures_ok('S1 opened');

yes_from($s1);
is slot($s1)->{status}, 'filled', 'setup: S1 filled';
my ($p1, $meta1) = intent_of($s1);
figures_ok('S1 filled, deposit processing');

{
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.payment_failed', pi => $p1->{stripe_payment_intent_id},
        metadata => $meta1));
    is $r->json && $r->json->{outcome}, 'payment failed: booking released, slot reopened', 'setup: payment_failed'
        or diag $r->dump;
}
is slot($s1)->{status}, 'open', 'setup: S1 reopened';
figures_ok('S1 reopened by a failed deposit');

yes_from($s1);
is slot($s1)->{status}, 'filled', 'setup: S1 filled again';
my ($p1b, $meta1b) = intent_of($s1);
{
    my $r = post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p1b->{stripe_payment_intent_id},
        metadata => $meta1b));
    is $r->status, 200, 'setup: payment_intent.succeeded' or diag $r->dump;
}
is payment_of($p1b->{appointment_id})->{status}, 'succeeded', 'setup: S1\'s deposit succeeded';
figures_ok('S1 filled, deposit succeeded');
is page_figures('')->{'Deposits collected'}, '20.00 USD', '... 20.00 USD collected';

# --- S2: the sweep expires it (it now starts within the cutoff: another day) ------------
my $s2 = cancel_api($appts[1]{id});
figures_ok('S2 opened');
db_do(q{UPDATE slot_openings SET starts_at = now() + interval '1 minute', ends_at = now() + interval '2 hours'
        WHERE id = ?}, $s2);
figures_ok('S2 moved to today');
sweep();
is slot($s2)->{status}, 'expired', 'setup: the sweep expired S2';
figures_ok('S2 expired');

# --- S3: filled at once (the stand-in answers succeeded), a known time to fill ----------
stripe_behave({});
my $s3 = cancel_api($appts[2]{id});
yes_from($s3);
my ($p3) = intent_of($s3);
is payment_of($p3->{appointment_id})->{status}, 'succeeded', 'setup: S3\'s deposit succeeded at once';
figures_ok('S3 filled, deposit succeeded');
# Two fills: the median is the mean of the two, 89.75 s and 150.25 s: 120 s.
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '89.75 seconds' WHERE id = ?}, $s1);
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '150.25 seconds' WHERE id = ?}, $s3);
figures_ok('known times to fill');
is page_figures('')->{'Median time to fill'}, '2 min', '... the median of 89.75 s and 150.25 s: 2 min';
# Within one whole second, and a half second to round: 59.5 s and 60.25 s
# make 59.875 s, "59 s" only if the median were not rounded as the scan does.
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '59.5 seconds' WHERE id = ?}, $s1);
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '60.25 seconds' WHERE id = ?}, $s3);
figures_ok('times to fill around a minute');
is page_figures('')->{'Median time to fill'}, '1 min', '... the median of 59.5 s and 60.25 s rounds to 60 s: 1 min';
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '150.25 seconds' WHERE id = ?}, $s1);
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '150.75 seconds' WHERE id = ?}, $s3);
figures_ok('two times to fill in one second');
is page_figures('')->{'Median time to fill'}, '2 min', '... 150.5 s: 2 min';
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '89.75 seconds' WHERE id = ?}, $s1);
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '150.25 seconds' WHERE id = ?}, $s3);

# --- the shop's time zone: every opening is counted on its day there --------------------
{
    my $r = api(PATCH => "/api/shops/$shop->{id}", { timezone => 'America/Los_Angeles' });
    is $r->status, 200, 'setup: PATCH timezone America/Los_Angeles' or diag $r->dump;
}
figures_ok('time zone changed');
{
    my $r = api(PATCH => "/api/shops/$shop->{id}", { name => 'Figures Shop Renamed' });
    is $r->status, 200, 'setup: PATCH without a time zone' or diag $r->dump;
}
figures_ok('shop renamed');

# --- a cancelled booking keeps its slot filled and its deposit counted --------------------
{
    my $r = api(POST => "/api/appointments/$p3->{appointment_id}/cancel");
    is $r->status, 200, 'setup: the S3 booking cancelled' or diag $r->dump;
}
figures_ok('S3 booking cancelled (its cancellation opened a slot of its own)');
is_deeply page_figures(''), { 'Slots opened' => '4', Filled => '2', Expired => '1', 'Recovery rate' => '50%',
    'Median time to fill' => '2 min', 'Deposits collected' => '40.00 USD' }, '... the figures at the end';

done_testing();
