# SPDX-License-Identifier: Apache-2.0
# POST /api/twilio/status: Twilio's signed delivery reports. A bad or missing
# signature is refused (403) and changes nothing; delivered is recorded;
# undelivered or failed for a live offer fails it and offers the slot to the
# next customer at once.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $shop = make_shop(name => 'Callback Shop');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my $a  = make_customer($shop->{id}, name => 'A');
my $b  = make_customer($shop->{id}, name => 'B');
my $c  = make_customer($shop->{id}, name => 'C');
# The cancel answers the offer pending; the worker sent it right after: the slot opening now.
my $slot = slot_view(cancel(make_appointment($shop->{id}, $cx->{id})->{id})->json->{slotOpening}{id});
my $offer_a = $slot->{offers}[0];
is $offer_a->{customerId}, $a->{id}, 'A has the live offer';
my $sid_a = $offer_a->{providerMessageId};
like $sid_a, qr/^SM/, '... with a message sid';
is sent_messages()->[0]{form}{StatusCallback}, status_callback_url(), 'the SMS asked for callbacks at /api/twilio/status';

sub report {
    my ($sid, $status, %extra) = @_;
    return { MessageSid => $sid, MessageStatus => $status, SmsSid => $sid, SmsStatus => $status,
             AccountSid => twilio_account_sid(), From => $shop->{smsFrom}, To => '+15550000000',
             ApiVersion => '2010-04-01', %extra };
}

# --- refused: no valid signature ---------------------------------------------------------------------
{
    my $p = report($sid_a, 'undelivered', ErrorCode => '30003');
    for my $case (
        [ 'no signature',                      { signature => undef } ],
        [ 'an empty signature',                { signature => '' } ],
        [ 'garbage',                           { signature => 'bm90IGEgc2lnbmF0dXJl' } ],
        [ 'signed with another auth token',    { token => 'some-other-auth-token-000000000' } ],
        [ 'signed for another URL',            { sign_url => public_base_url() . '/api/twilio/inbound' } ],
        [ 'signed for another host',           { sign_url => 'https://evil.example.com/api/twilio/status' } ],
        [ 'signed over other parameters',      { signature => twilio_signature(status_callback_url(),
                                                   report($sid_a, 'delivered')) } ],
        [ 'signed without ErrorCode',          { signature => twilio_signature(status_callback_url(),
                                                   report($sid_a, 'undelivered')) } ],
    ) {
        my ($label, $o) = @$case;
        my $before = table_counts();
        my $r = status_callback($p, %$o);
        is $r->status, 403, "undelivered report with $label: 403" or diag $r->dump;
        ok $r->json && $r->json->{error}, "... a JSON error";
        counts_unchanged($before, '... nothing changed');
    }
    # The internal secret is no substitute for Twilio's signature.
    my $before = table_counts();
    my $body = join '&', map { "$_=" . ($p->{$_} =~ s/\+/%2B/gr) } sort keys %$p;
    my $r = api(POST => '/api/twilio/status', undef, raw => $body, content_type => 'application/x-www-form-urlencoded');
    is $r->status, 403, 'with x-internal-secret but no signature: 403' or diag $r->dump;
    counts_unchanged($before, '... nothing changed');
    is scalar @{ twilio_messages() }, 1, 'no SMS from any of them';
    is live_offer($slot->{id})->{id}, $offer_a->{id}, "A's offer is still the live one";
}

# --- delivered, and progress reports -----------------------------------------------------------------
{
    for my $status (qw(queued sent delivered)) {
        my $r = status_callback(report($sid_a, $status));
        is $r->status, 204, "'$status': 204" or diag $r->dump;
        ok !length($r->body // ''), '... no body';
        my $row = db_row('SELECT status, delivery_status, delivery_updated_at FROM slot_offers WHERE id = ?',
            $offer_a->{id});
        is $row->{delivery_status}, $status, "... delivery_status '$status' recorded";
        ok defined $row->{delivery_updated_at}, '... delivery_updated_at set';
        is $row->{status}, 'sent', '... the offer stays sent';
    }
    is db_count('slot_offers'), 1, 'still one offer';
    is scalar @{ twilio_messages() }, 1, 'no new SMS';
}

# --- undelivered: the next customer at once --------------------------------------------------------------
my $offer_b;
{
    my $r = status_callback(report($sid_a, 'undelivered', ErrorCode => '30003'));
    is $r->status, 204, "'undelivered' (ErrorCode 30003): 204" or diag $r->dump;
    my $o = offers_of($slot->{id});
    is $o->[0]{status}, 'failed', "A's offer failed";
    like $o->[0]{last_error}, qr/undelivered/, '... lastError mentions undelivered';
    like $o->[0]{last_error}, qr/30003/, '... and the error code';
    is $o->[0]{delivery_status}, 'undelivered', '... delivery_status undelivered';
    $offer_b = live_offer($slot->{id});
    is $offer_b && $offer_b->{customer_id}, $b->{id}, 'B was offered at once (no sweep)';
    is $offer_b && $offer_b->{status}, 'sent', '... sent';
    is_deeply [ map { $_->{form}{To} } @{ sent_messages() } ], [ $a->{phone}, $b->{phone} ], '... by SMS';
    my $v = slot_view($slot->{id});
    like $v->{offers}[0]{lastError}, qr/undelivered/, 'the view shows lastError';

    # The same report again (Twilio retries callbacks): nothing more happens.
    $r = status_callback(report($sid_a, 'undelivered', ErrorCode => '30003'));
    is $r->status, 204, 'the same report again: 204' or diag $r->dump;
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), 2, '... no new offer';
    is scalar @{ twilio_messages() }, 2, '... no new SMS';
    is live_offer($slot->{id})->{id}, $offer_b->{id}, "... B's offer is still the live one";

    # A late 'delivered' for the failed offer does not bring it back.
    $r = status_callback(report($sid_a, 'delivered'));
    is $r->status, 204, "a late 'delivered' for A: 204";
    is offers_of($slot->{id})->[0]{status}, 'failed', "... A's offer stays failed";
}

# --- failed: likewise -------------------------------------------------------------------------------------
{
    my $r = status_callback(report($offer_b->{provider_message_id}, 'failed', ErrorCode => '30008'));
    is $r->status, 204, "'failed' for B: 204" or diag $r->dump;
    my $o = offers_of($slot->{id});
    is $o->[1]{status}, 'failed', "B's offer failed";
    like $o->[1]{last_error}, qr/failed/, '... lastError mentions it';
    my $live = live_offer($slot->{id});
    is $live && $live->{customer_id}, $c->{id}, 'C was offered at once';
    is scalar @{ sent_messages() }, 3, '... a third SMS';
}

# --- the last one undelivered: the slot waits -----------------------------------------------------------------
{
    my $live = live_offer($slot->{id});
    my $r = status_callback(report($live->{provider_message_id}, 'undelivered'));
    is $r->status, 204, "'undelivered' (no ErrorCode) for C: 204" or diag $r->dump;
    like offers_of($slot->{id})->[2]{last_error}, qr/undelivered/, "C's offer failed (undelivered)";
    my $row = db_row('SELECT status, waiting_since FROM slot_openings WHERE id = ?', $slot->{id});
    is $row->{status}, 'open', 'nobody left: the slot stays open';
    ok defined $row->{waiting_since}, '... waiting for a customer';
    is scalar @{ twilio_messages() }, 3, '... no SMS';
}

# --- reports about offers no longer live, unknown messages, bad reports ---------------------------------------------
{
    twilio_reset();
    my $s2 = make_shop(name => 'Callback Two');
    my $x = make_customer($s2->{id}, name => 'X');
    my $y = make_customer($s2->{id}, name => 'Y');
    my $z = make_customer($s2->{id}, name => 'Z');
    my $slot2 = slot_view(cancel(make_appointment($s2->{id}, $x->{id})->{id})->json->{slotOpening}{id});
    my $oy = live_offer($slot2->{id});
    expire_offer($oy->{id});
    sweep();
    my $oz = live_offer($slot2->{id});
    is $oz && $oz->{customer_id}, $z->{id}, "Y's offer expired, Z's is live";

    my $r = status_callback(report($oy->{provider_message_id}, 'undelivered', ErrorCode => '30005'));
    is $r->status, 204, "'undelivered' for Y's expired offer: 204" or diag $r->dump;
    is offers_of($slot2->{id})->[0]{status}, 'expired', "... Y's offer stays expired";
    is live_offer($slot2->{id})->{id}, $oz->{id}, "... Z's offer is untouched";
    is scalar @{ sent_messages() }, 2, '... no SMS';

    my $before = table_counts();
    $r = status_callback(report('SM' . ('0' x 32), 'undelivered'));
    is $r->status, 204, 'a report for an unknown message: 204' or diag $r->dump;
    counts_unchanged($before, '... nothing changed');

    for my $case (
        [ 'without MessageSid',    { MessageStatus => 'undelivered' } ],
        [ 'without MessageStatus', { MessageSid => $oz->{provider_message_id} } ],
        [ 'with no fields',        {} ],
    ) {
        my ($label, $p) = @$case;
        $r = status_callback($p);
        is $r->status, 400, "a signed report $label: 400" or diag $r->dump;
        counts_unchanged($before, '... nothing changed');
    }
    is live_offer($slot2->{id})->{status}, 'sent', "Z's offer is still sent";
}

done_testing();
