# SPDX-License-Identifier: Apache-2.0
# PostgreSQL down: the Stripe webhook (and the Twilio one) answer 503 so the
# sender retries, and record nothing; once the database is back the redelivery
# is handled exactly once. Stops and restarts the suite's private cluster
# (t/run-suite made it with scripts/lib.sh's sr_pg_start DIR PORT).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(overlap_ok);

reset_db();
twilio_reset();
stripe_reset();

my $cluster = stoppable_pg_cluster();

# --- a booking with its deposit processing ---------------------------------------------
stripe_behave({ status => 'processing' });
my $s = scenario(customers => 2);
my ($c1, $c2) = @{ $s->{customers} };
my $r = sms($c1->{phone}, 'YES');
like $r->{message} // '', qr/^Booked:/, 'setup: booked' or diag $r->dump;
my ($a) = @{ appointment_of_slot($s->{slot_id}) };
my $p = payment_of($a->{id});
is $p->{status}, 'processing', 'setup: payment processing';
stripe_behave({});
my $event = stripe_event(id => 'evt_while_db_down_1', type => 'payment_intent.payment_failed',
    pi => $p->{stripe_payment_intent_id}, metadata => { payment_id => "$p->{id}" });
my $sms_before = scalar @{ twilio_messages() };

# --- the database goes away ------------------------------------------------------------
my $stopped = 0;
END { pg_start($cluster) if $stopped }    # whatever happens, the rest of the suite gets it back
pg_stop($cluster);
$stopped = 1;
ok !eval { require DBI; DBI->connect(sprintf('dbi:Pg:dbname=%s;host=%s;port=%s',
        map { SlotRecovery::TestEnv::get($_) } qw(SR_PG_DB SR_PG_HOST SR_PG_PORT)),
        SlotRecovery::TestEnv::get('SR_PG_USER'), '', { RaiseError => 1, PrintError => 0 }) },
    'PostgreSQL is down';

for my $try (1 .. 3) {
    my $res = post_stripe_event($event, timeout => 30);
    is $res->status, 503, "Stripe event while the database is down: 503 (try $try)" or diag $res->dump;
}
# An event of a type the module does not use needs no database (issue 13).
{
    my $res = post_stripe_event(stripe_event(id => 'evt_ignored_while_down', type => 'charge.refunded',
        object => { id => 'ch_down', object => 'charge' }), timeout => 30);
    is $res->status, 200, 'an ignored event type while the database is down: 200' or diag $res->dump;
    is $res->json && $res->json->{outcome}, 'ignored: event type not used', '... ignored';
}
my $in = sms($c2->{phone}, 'HELP');
is $in->status, 503, 'Twilio inbound while the database is down: 503' or diag $in->dump;
my $in_sid = $in->{sid};
is scalar @{ twilio_messages() }, $sms_before, 'no SMS sent meanwhile';

# --- back ------------------------------------------------------------------------------
pg_start($cluster);
$stopped = 0;
ok wait_until(sub { eval { db()->ping } }, timeout => 30), 'PostgreSQL is back';
is db_count('stripe_events'), 0, 'the refused deliveries recorded nothing';
is payment_of($a->{id})->{status}, 'processing', '... payment still processing';
is slot($s->{slot_id})->{status}, 'filled', '... slot still filled';
is db_count('inbound_messages WHERE message_sid = ?', $in_sid), 0, '... no inbound message';

# Stripe's retry: signed again, same event.
my $res = post_stripe_event($event, timeout => 30);
is $res->status, 200, 'the first redelivery after the restart: 200' or diag $res->dump;
is $res->json && $res->json->{outcome}, 'payment failed: booking released, slot reopened', '... handled';
ok $res->json && !$res->json->{duplicate}, '... not a duplicate';
is payment_of($a->{id})->{status}, 'failed', 'payment failed';
is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'cancelled', 'booking cancelled';
is slot($s->{slot_id})->{status}, 'open', 'slot open';
is offer_of($s->{slot_id}, $c2->{id}) && offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent',
    'the next customer has a sent offer';
is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... and the offer SMS';

$res = post_stripe_event($event);
ok $res->status == 200 && $res->json && $res->json->{duplicate}, 'a further redelivery: duplicate';
is db_count('stripe_events'), 1, 'one stripe_events row';
is scalar @{ offer_sms_to($c2->{phone}) }, 1, 'no second offer SMS';

# Twilio's retry of the inbound SMS.
$in = sms($c2->{phone}, 'HELP', sid => $in_sid);
is $in->status, 200, 'the inbound SMS redelivered: 200' or diag $in->dump;
like $in->{message} // '', qr/Reply YES/, '... answered';

# Every pooled connection works again: 16 requests at once, spread over the
# children and their connections (each opened before the restart).
{
    require HTTP::Tiny;
    require POSIX;
    my $target = url("/api/slot-openings/$s->{slot_id}");
    my @kids;
    my $go = time + 1;
    for (1 .. 16) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            sleep 0.01 while time < $go;
            my $res = HTTP::Tiny->new(timeout => 30)->get($target,
                { headers => { 'X-Internal-Secret' => secret(), 'X-Test-Span' => "dbdown-$$" } });
            POSIX::_exit($res->{status} == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my @codes = map { waitpid($_, 0); $? >> 8 } @kids;
    is_deeply \@codes, [ (0) x 16 ], '16 concurrent API requests after the restart: all 200';
    overlap_ok([ map { "dbdown-$_" } @kids ], '16 concurrent API requests');
}

done_testing();
