# SPDX-License-Identifier: Apache-2.0
# The booking race: 50 signed YES messages at once (distinct MessageSids) for
# one slot, from the customer holding the live offer and from customers whose
# offers for that slot expired: exactly one appointment, one payment, one
# PaymentIntent request. The messages are checked to have been in the server
# at the same time (server-side spans), so a race that ran one after another
# fails.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use File::Temp ();
use HTTP::Tiny ();
use POSIX ();
use Time::HiRes ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(overlap_ok server_spans);

reset_db();
twilio_reset();
stripe_reset();

my $N = 50;

# Sends the prepared requests from forked children, all released at the same
# moment; returns [[status, body, request], ...] in the order given.
sub fire {
    my (@reqs) = @_;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $go = Time::HiRes::time() + 1.5;
    my @kids;
    for my $i (0 .. $#reqs) {
        my $req = $reqs[$i];
        my $target = url($req->{path});
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            my $ua = HTTP::Tiny->new(timeout => 60, keep_alive => 0);
            Time::HiRes::sleep(0.002) while Time::HiRes::time() < $go;
            my $res = $ua->post($target, { content => $req->{body},
                headers => { %{ $req->{headers} }, 'Content-Type' => 'application/x-www-form-urlencoded',
                             'X-Test-Span' => $req->{span} } });
            if (open my $fh, '>', "$dir/$i") {
                print {$fh} "$res->{status}\n$res->{content}";
                close $fh;
            }
            POSIX::_exit(0);    # no destructors: the parent's database handle stays usable
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;
    my @out;
    for my $i (0 .. $#reqs) {
        my ($status, $body) = (0, '');
        if (open my $fh, '<', "$dir/$i") {
            local $/;
            ($status, $body) = split /\n/, <$fh>, 2;
            close $fh;
        }
        push @out, [ $status, $body, $reqs[$i] ];
    }
    return \@out;
}

# One round: customers e1..e3 offered first, their offers expired by the sweep,
# then customer A holds the live offer.
sub race_round {
    my ($label, %o) = @_;
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave($o{stripe}) if $o{stripe};
    my $s = scenario(customers => 4);
    my ($e1, $e2, $e3, $a) = @{ $s->{customers} };
    my $slot_id = $s->{slot_id};
    for my $e ($e1, $e2, $e3) {
        db_do(q{UPDATE slot_offers SET expires_at = now() - interval '1 second'
                 WHERE slot_opening_id = ? AND customer_id = ? AND status = 'sent'}, $slot_id, $e->{id});
        sweep();
        is offer_of($slot_id, $e->{id})->{status}, 'expired', "$label setup: offer to $e->{name} expired";
    }
    my $live = live_offer($slot_id);
    is $live && $live->{customer_id}, $a->{id}, "$label setup: the fourth customer holds the live offer";

    my @reqs;
    for my $i (1 .. $N) {
        my $from = $i % 8 == 1 ? $e1 : $i % 8 == 3 ? $e2 : $i % 8 == 5 ? $e3 : $a;
        my @yes = ('YES', 'yes', 'Y', 'Yes!', ' yes ');
        push @reqs, { %{ sms_request($from->{phone}, $yes[ $i % @yes ]) }, customer => $from, span => "race-$$-" . ($label =~ s{\W}{_}gr) . "-$i" };
    }
    my $results = fire(@reqs);
    overlap_ok([ map { $_->{span} } @reqs ], $label, min => 5);
    # The answers wrote the deposit as a row; the worker asks Stripe (run here, after them).
    api(POST => '/api/jobs/outbox');
    if ($o{stripe} && $o{stripe}{delay}) {
        # No answer waited on Stripe: the PaymentIntent was asked for once every YES had been answered.
        my ($pi) = @{ stripe_payment_intents() };
        my $spans = server_spans(map { $_->{span} } @reqs);
        my $during = grep { $pi && $_->[1] > $pi->{time} } values %$spans;
        is $during, 0, "$label: no message was still in the server when Stripe was asked";
    }

    my @not_200 = grep { $_->[0] != 200 } @$results;
    is scalar @not_200, 0, "$label: all $N answered 200"
        or diag join "\n", map { "$_->[0] $_->[1]" } @not_200[ 0 .. ($#not_200 < 4 ? $#not_200 : 4) ];
    my @booked = grep { ($_->[1] // '') =~ m{<Message>Booked:} } @$results;
    my @late   = grep { (twiml_message($_->[1]) // '') =~ TOO_LATE_RE } @$results;
    is scalar @booked, 1, "$label: exactly one answer says Booked";
    is scalar @late, $N - 1, "$label: the other " . ($N - 1) . ' are told the slot is taken';
    is $booked[0] && $booked[0][2]{customer}{id}, $a->{id}, "$label: the Booked answer went to the live offer's customer";
    ok !(grep { $_->[2]{customer} != $a && $_->[1] =~ /Booked:/ } @$results),
        "$label: no customer with an expired offer booked";

    my $appts = appointment_of_slot($slot_id);
    is scalar @$appts, 1, "$label: one appointment with that source_slot_opening_id";
    is $appts->[0] && $appts->[0]{customer_id}, $a->{id}, "$label: ... for the live offer's customer";
    is db_count('payments'), 1, "$label: one payments row";
    is scalar @{ stripe_payment_intents() }, 1, "$label: one PaymentIntent request at Stripe";
    my $slot = slot($slot_id);
    is $slot->{status}, 'filled', "$label: slot filled";
    is $slot->{filled_by_appointment_id}, $appts->[0] && $appts->[0]{id}, "$label: ... by that appointment";
    is offer_of($slot_id, $a->{id})->{status}, 'accepted', "$label: the live offer accepted";
    is db_count(q{slot_offers WHERE slot_opening_id = ? AND status = 'accepted'}, $slot_id), 1,
        "$label: one accepted offer";
    is db_count('inbound_messages'), $N, "$label: all $N messages recorded";
    is db_count(q{inbound_messages WHERE action = 'booked'}), 1, "$label: one recorded as booked";
    is db_count(q{inbound_messages WHERE action = 'too_late'}), $N - 1, "$label: the rest as too_late";
    return ($s, $appts->[0]);
}

my ($s, $appt) = race_round('succeeded');
is $appt && $appt->{status}, 'confirmed', 'succeeded: the booking is confirmed';

($s, $appt) = race_round('slow Stripe', stripe => { status => 'processing', delay => 1 });
is $appt && $appt->{status}, 'awaiting_payment', 'slow Stripe: the booking awaits the payment';
is payment_of($appt->{id})->{status}, 'processing', 'slow Stripe: payment processing';

done_testing();
