# SPDX-License-Identifier: Apache-2.0
# The sweep moves many slots at once: offers of twelve slot openings expire
# together, one sweep passes each slot on (one commit a batch, the SMS of a
# batch sent at once), an SMS Twilio refuses for good fails its offer and the
# same sweep offers that slot to the next customer; each slot ends with exactly
# one live offer and each offer got exactly one SMS. Then nobody is left: the
# slots wait for a customer (they no longer expire at once).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $N = 12;
my $shop = make_shop(name => 'Batch Shop');
my @wait = map { make_customer($shop->{id}, name => "Waiting $_") } 1 .. 3;
my (@slots, @times);
for my $i (1 .. $N) {
    # Cancellers are not on the waitlist (opted out), so only the three waiting
    # customers are eligible; each slot at its own time, so none overlaps.
    my $c = make_customer($shop->{id}, name => "Canceller $i", smsOptIn => json_false());
    my $start = 2 * 86400 + $i * 7200;
    my $appt = make_appointment($shop->{id}, $c->{id}, startsAt => iso_in($start), endsAt => iso_in($start + 1800));
    my $r = cancel($appt->{id});
    is $r->status, 200, "cancel $i: 200" or diag $r->dump;
    push @slots, $r->json->{slotOpening}{id};
}
is scalar(grep { my $o = live_offer($_); $o && $o->{status} eq 'sent' && $o->{customer_id} eq $wait[0]{id} } @slots),
    $N, "each of the $N slots has a sent offer for the first waiting customer";
is scalar @{ messages_to($wait[0]{phone}) }, $N, "... who got $N SMS";

# --- all expire at once; Twilio refuses the second customer's number for good ---------------
twilio_behave({ failTo => { $wait[1]{phone} => { status => 400, code => 21211, message => 'not a valid number' } } });
my $mark = log_mark();
expire_offer(live_offer($_)->{id}) for @slots;
my $rep = sweep();
sweep_counts_ok($rep, { offersExpired => $N, offersFailed => $N, slotsAdvanced => 2 * $N, offersSent => $N,
    slotsExpired => 0 }, $mark, "one sweep: $N expired, $N failed for good, each slot passed on twice, $N sent");

for my $k (0 .. $#slots) {
    my $offers = offers_of($slots[$k]);
    is_deeply [ map { "$_->{customer_id}:$_->{status}" } @$offers ],
        [ "$wait[0]{id}:expired", "$wait[1]{id}:failed", "$wait[2]{id}:sent" ],
        "slot $k: expired, failed, then sent to the third customer";
    like $offers->[1]{last_error}, qr/400/, "slot $k: the failed offer says why";
    ok $offers->[2]{provider_message_id}, "slot $k: the live offer carries its message sid";
}
my $to_second = messages_to($wait[1]{phone});
my $to_third  = messages_to($wait[2]{phone});
is scalar @$to_second, $N, "Twilio was asked once per slot for the second customer (no retry of a permanent error)";
is scalar(grep { $_->{status} == 400 } @$to_second), $N, '... and refused each';
is scalar @$to_third, $N, "the third customer got $N SMS, one per slot";
my %sids = map { $_->{response}{sid} => 1 } @$to_third;
is_deeply [ sort keys %sids ],
    [ sort map { offers_of($_)->[2]{provider_message_id} } @slots ],
    '... each SMS is the one its offer records (no offer got two, none is missing)';
my %bodies = map { $_->{form}{Body} => 1 } @$to_third;
is scalar keys %bodies, $N, '... each names its own slot time';

# --- nobody left: every slot waits ------------------------------------------------------------
twilio_behave({});
$mark = log_mark();
expire_offer(live_offer($_)->{id}) for @slots;
$rep = sweep();
sweep_counts_ok($rep, { offersExpired => $N, offersFailed => 0, slotsAdvanced => 0, offersSent => 0,
    slotsExpired => 0 }, $mark, "one sweep: $N offers expired, no one left, no slot expired");
is scalar(grep { my $s = db_row('SELECT status, waiting_since FROM slot_openings WHERE id = ?', $_);
        $s->{status} eq 'open' && defined $s->{waiting_since} } @slots),
    $N, "every slot opening stays open, waiting for a customer";
is db_count(q{slot_offers WHERE status IN ('pending', 'sent')}), 0, 'no live offer is left';
is scalar @{ twilio_messages() }, 3 * $N, 'no SMS after the last sweep (three per slot in all)';

done_testing;
