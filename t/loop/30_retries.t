# SPDX-License-Identifier: Apache-2.0
# Twilio failing: a transient failure leaves the offer pending with attempts
# and lastError, retried by the sweep once next_attempt_at is due (the delay
# doubling each time); after SlotRecoveryOfferMaxAttempts the offer fails and
# the next customer is offered. A permanent 4xx (400, code 21211) fails the
# offer at once. Time is driven by UPDATE-ing next_attempt_at.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $DELAY = conf_value('SlotRecoveryOfferRetryDelay', 30);
my $MAX   = conf_value('SlotRecoveryOfferMaxAttempts', 3);

# due_in_ok($offer, $seconds, $name): next_attempt_at is about $seconds from now.
sub due_in_ok {
    my ($offer, $seconds, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $d = $offer->{due_in};
    ok(defined $d && $d > $seconds - 15 && $d <= $seconds + 1, $name)
        or diag "next attempt in $d s, expected about $seconds";
}

# --- Twilio down (503) throughout ------------------------------------------------------------------
{
    my $shop = make_shop(name => 'Retry Shop');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $a = make_customer($shop->{id}, name => 'A');
    my $b = make_customer($shop->{id}, name => 'B');
    my $appt = make_appointment($shop->{id}, $cx->{id});

    twilio_behave({ failAll => 503 });
    my $r = cancel($appt->{id});
    is $r->status, 200, 'cancel while Twilio answers 503: still 200' or diag $r->dump;
    is $r->json->{appointment}{status}, 'cancelled', '... the appointment is cancelled';
    my $slot = slot_view($r->json->{slotOpening}{id});
    is $slot->{status}, 'open', '... the slot is open';
    is scalar @{ $slot->{offers} }, 1, '... with one offer';
    my $o = $slot->{offers}[0];
    is $o->{customerId}, $a->{id}, '... for A';
    is $o->{status}, 'pending', '... pending (not sent)';
    is $o->{attempts}, 1, '... attempts 1';
    like $o->{lastError}, qr/503/, '... lastError says 503';
    ok !defined $o->{sentAt} && !defined $o->{providerMessageId} && !defined $o->{expiresAt},
        '... no sentAt, expiresAt or providerMessageId';
    is scalar @{ messages_to($a->{phone}) }, 1, 'Twilio was asked once';
    is twilio_messages()->[0]{status}, 503, '... and answered 503';
    my $row = offers_of($slot->{id})->[0];
    due_in_ok($row, $DELAY, "the next attempt is due in SlotRecoveryOfferRetryDelay ($DELAY s)");

    # Not due yet: a sweep leaves it alone.
    sweep();
    $row = offers_of($slot->{id})->[0];
    is $row->{attempts}, 1, 'a sweep before it is due: attempts still 1';
    is scalar @{ messages_to($a->{phone}) }, 1, '... no new attempt';

    for my $attempt (2 .. $MAX) {
        my $mark = log_mark();
        make_offer_due($row->{id});
        my $rep = sweep();
        $row = offers_of($slot->{id})->[0];
        is $row->{attempts}, $attempt, "attempt $attempt: attempts $attempt";
        is scalar @{ messages_to($a->{phone}) }, $attempt, "attempt $attempt: Twilio asked again";
        like $row->{last_error}, qr/503/, "attempt $attempt: lastError 503";
        if ($attempt < $MAX) {
            is $row->{status}, 'pending', "attempt $attempt: still pending";
            due_in_ok($row, $DELAY * 2 ** ($attempt - 1), "attempt $attempt: the delay doubles ("
                . $DELAY * 2 ** ($attempt - 1) . ' s)');
            is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), 1, "attempt $attempt: B not offered yet";
        }
        else {
            is $row->{status}, 'failed', "attempt $attempt (the last): the offer failed";
            sweep_counts_ok($rep, { offersFailed => 1, slotsAdvanced => 1, offersSent => 0, offersExpired => 0,
                slotsExpired => 0 }, $mark, "attempt $attempt: the sweep reports the failure and the next offer");
        }
    }

    my $next = live_offer($slot->{id});
    ok $next, 'the slot went on to the next customer';
    is $next && $next->{customer_id}, $b->{id}, '... B';
    is $next && $next->{status}, 'pending', '... pending too: Twilio is still down';
    is $next && $next->{attempts}, 1, '... after one attempt';
    is scalar @{ messages_to($b->{phone}) }, 1, '... B was tried once';

    # Twilio is back: the due retry goes through.
    twilio_behave({});
    my $mark = log_mark();
    make_offer_due($next->{id});
    my $rep = sweep();
    sweep_counts_ok($rep, { offersSent => 1, offersFailed => 0, slotsAdvanced => 0, offersExpired => 0,
        slotsExpired => 0 }, $mark, 'Twilio back: the sweep sent one offer');
    my $sent = offers_of($slot->{id})->[1];
    is $sent->{status}, 'sent', "B's offer is sent";
    is $sent->{attempts}, 2, '... at attempt 2';
    ok !defined $sent->{last_error}, '... lastError cleared';
    like $sent->{provider_message_id}, qr/^SM/, '... providerMessageId set';
    is $sent->{ttl}, 900, '... expires after the TTL';
    my $ok = sent_messages();
    is scalar @$ok, 1, 'one SMS accepted in all';
    is $ok->[0]{form}{To}, $b->{phone}, '... to B';
    is $ok->[0]{response}{sid}, $sent->{provider_message_id}, "... whose sid is the offer's";
    is scalar @{ messages_to($a->{phone}) }, $MAX, "A was tried $MAX times, never more";

    my $v = slot_view($slot->{id});
    is_deeply [ map { "$_->{status}/$_->{attempts}" } @{ $v->{offers} } ], [ "failed/$MAX", 'sent/2' ],
        'the view: failed after the last attempt, then sent';
    like $v->{offers}[0]{lastError}, qr/503/, "... the failed offer's lastError";
}

# --- one number failing (500), seen through the offer-loop job ----------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Job Retry Shop');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $a = make_customer($shop->{id}, name => 'A');
    my $b = make_customer($shop->{id}, name => 'B');
    my $slot = slot_view(cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening}{id});
    is $slot->{offers}[0]{status}, 'sent', "A's offer sent";

    twilio_behave({ failTo => { $b->{phone} => 500 } });
    db_do(q{UPDATE slot_offers SET status = 'declined', responded_at = now() WHERE id = ?}, $slot->{offers}[0]{id});
    my $r = offer_loop($slot->{id});
    is $r->status, 200, 'offer-loop while sends to B fail: 200' or diag $r->dump;
    is $r->json->{action}, 'offered', '... offered';
    is $r->json->{customerId}, $b->{id}, '... to B';
    ok !$r->json->{smsSent}, '... smsSent false';
    like $r->json->{sendError}, qr/500/, '... sendError says 500';
    my $live = live_offer($slot->{id});
    is $live && $live->{status}, 'pending', "B's offer is pending";
    like $live && $live->{last_error}, qr/500/, '... lastError';
    is $live && $live->{attempts}, 1, '... attempts 1';

    twilio_behave({});
    make_offer_due($live->{id});
    sweep();
    $live = live_offer($slot->{id});
    is $live && $live->{status}, 'sent', 'B reachable again: sent by the sweep';
    is $live && $live->{attempts}, 2, '... at attempt 2';
}

# --- 429 is not permanent ----------------------------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Throttled Shop');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $a = make_customer($shop->{id}, name => 'A');
    my $b = make_customer($shop->{id}, name => 'B');
    twilio_behave({ failTo => { $a->{phone} => 429 } });
    my $slot = cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening};
    is_deeply [ map { $_->{status} } @{ $slot->{offers} } ], ['pending'], 'Twilio 429: the offer stays pending';
    is scalar @{ messages_to($b->{phone}) }, 0, '... B is not offered';
    twilio_behave({});
}

# --- a permanent failure (400, code 21211) ------------------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Bad Number Shop');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my $a = make_customer($shop->{id}, name => 'A (bad number)');
    my $b = make_customer($shop->{id}, name => 'B');
    my $c = make_customer($shop->{id}, name => 'C');
    twilio_behave({ failTo => { $a->{phone} => { status => 400, code => 21211,
        message => "The 'To' number is not a valid phone number." } } });
    my $r = cancel(make_appointment($shop->{id}, $cx->{id})->{id});
    is $r->status, 200, 'cancel: 200' or diag $r->dump;
    my $slot = slot_view($r->json->{slotOpening}{id});
    my @o = @{ $slot->{offers} || [] };
    is scalar @o, 2, 'two offers after the worker ran';
    is $o[0]{customerId}, $a->{id}, "... A's";
    is $o[0]{status}, 'failed', '... failed at once';
    is $o[0]{attempts}, 1, '... after one attempt';
    like $o[0]{lastError}, qr/21211/, '... lastError has the Twilio code';
    is $o[1]{customerId}, $b->{id}, "... then B's";
    is $o[1]{status}, 'sent', '... sent';
    is scalar @{ messages_to($a->{phone}) }, 1, 'A was tried once';
    is scalar @{ messages_to($b->{phone}) }, 1, 'B got the SMS';
    is scalar @{ messages_to($c->{phone}) }, 0, 'C got nothing';

    # A failed offer is final: even "due", no sweep retries it.
    db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 hour' WHERE id = ?}, $o[0]{id});
    sweep();
    is scalar @{ messages_to($a->{phone}) }, 1, 'a sweep never retries the failed offer';
    is offers_of($slot->{id})->[0]{status}, 'failed', '... it stays failed';
    twilio_behave({});
}

# --- everyone unreachable for good: the slot waits ------------------------------------------------------------------------------
{
    twilio_reset();
    my $shop = make_shop(name => 'Unreachable Shop');
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my @w = map { make_customer($shop->{id}, name => "W$_") } 1 .. 3;
    twilio_behave({ failTo => { map { $_->{phone} => { status => 400, code => 21211 } } @w } });
    my $r = cancel(make_appointment($shop->{id}, $cx->{id})->{id});
    is $r->status, 200, 'cancel: 200' or diag $r->dump;
    my $slot = slot_view($r->json->{slotOpening}{id});
    is_deeply [ map { $_->{status} } @{ $slot->{offers} || [] } ], [qw(failed failed failed)],
        'each customer failed in turn';
    is $slot->{status}, 'open', '... and the slot stays open';
    ok $slot->{waiting}, '... waiting for a customer';
    is scalar @{ twilio_messages() }, 3, 'three attempts, one each';
    twilio_behave({});
}

done_testing();
