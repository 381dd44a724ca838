# SPDX-License-Identifier: Apache-2.0
# Consent by SMS: the STOP words opt a customer out (a live offer to them is
# declined and the slot moves on; no further offers), START/UNSTOP opt back in;
# HELP and anything else get a reply naming the shop; unknown senders get an
# empty TwiML answer.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

sub opt_in { db_row('SELECT sms_opt_in FROM customers WHERE id = ?', $_[0])->{sms_opt_in} ? 1 : 0 }

sub empty_twiml {
    my ($r, $what) = @_;
    ok is_twiml($r), "$what: TwiML" or diag $r->dump;
    like $r->body, qr{<Response></Response>}, "$what: empty <Response></Response>";
}

# --- every STOP word, any case, no live offer ------------------------------------
{
    my @words = ('STOP', 'stopall', ' Unsubscribe ', 'CANCEL', 'end', 'Quit', 'stop.');
    my $s = scenario(customers => scalar @words, cancel => 0, shop => { name => 'Consent Cuts' });
    for my $i (0 .. $#words) {
        my $c = $s->{customers}[$i];
        is opt_in($c->{id}), 1, "setup: customer $i opted in";
        my $r = sms($c->{phone}, $words[$i]);
        empty_twiml($r, qq{"$words[$i]"});
        is opt_in($c->{id}), 0, qq{"$words[$i]" opts the customer out};
        is db_row('SELECT action FROM inbound_messages WHERE message_sid = ?', $r->{sid})->{action}, 'opted_out',
            '... recorded as opted_out';
    }
    is scalar @{ twilio_messages() }, 0, 'no SMS sent by the module for opt-outs';
    is db_count('customers WHERE sms_opt_in'), 1, 'only the canceller is still opted in';
}

# --- STOP with a live offer; no offers after; START and UNSTOP ---------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 3, shop => { name => 'Stop & Go' });
    my ($c1, $c2, $c3) = @{ $s->{customers} };
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'sent', 'setup: first customer offered';

    my $r = sms($c1->{phone}, 'STOP');
    empty_twiml($r, 'STOP with a live offer');
    is opt_in($c1->{id}), 0, '... opted out';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'declined', '... their live offer declined';
    my $o2 = offer_of($s->{slot_id}, $c2->{id});
    is $o2 && $o2->{status}, 'sent', '... the next customer offered at once';
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... by SMS';

    # YES after STOP: nothing.
    $r = sms($c1->{phone}, 'YES');
    like $r->{message}, TOO_LATE_RE, 'YES after STOP: too late';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 0, '... nothing booked';

    # A new slot: the opted-out customer (earliest on the waitlist) is skipped.
    my $a2 = make_appointment($s->{shop}{id}, $s->{canceller}{id},
        startsAt => iso_in(3 * 86400), endsAt => iso_in(3 * 86400 + 1800));
    my $slot2 = cancel_slot($a2->{id})->{slot_id};
    ok !offer_of($slot2, $c1->{id}), 'a new slot is not offered to the opted-out customer';
    is scalar @{ offer_sms_to($c1->{phone}) }, 1, '... no SMS to them beyond the first offer';
    is live_offer($slot2) && live_offer($slot2)->{customer_id}, $c2->{id}, '... it goes to the next one';

    # START: opted in again, and the next slot is theirs.
    $r = sms($c1->{phone}, 'start');
    ok is_twiml($r), 'START: TwiML' or diag $r->dump;
    like $r->{message}, qr/^Stop & Go: you will get slot offers again\./, '... reply names the shop';
    like $r->body, qr/Stop &amp; Go/, '... XML-escaped in the TwiML';
    is opt_in($c1->{id}), 1, '... opted in again';
    my $a3 = make_appointment($s->{shop}{id}, $s->{canceller}{id},
        startsAt => iso_in(4 * 86400), endsAt => iso_in(4 * 86400 + 1800));
    my $slot3 = cancel_slot($a3->{id})->{slot_id};
    is live_offer($slot3) && live_offer($slot3)->{customer_id}, $c1->{id},
        'after START the customer is offered again (first on the waitlist)';
    is scalar @{ offer_sms_to($c1->{phone}) }, 2, '... by SMS';

    # Opt out again with QUIT, back in with UNSTOP.
    sms($c3->{phone}, 'QUIT');
    is opt_in($c3->{id}), 0, 'QUIT opts out';
    $r = sms($c3->{phone}, 'UNSTOP');
    like $r->{message}, qr/you will get slot offers again/, 'UNSTOP: opted-in reply';
    is opt_in($c3->{id}), 1, '... opted in';
}

# --- HELP and anything else ---------------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2, shop => { name => 'Helpful Hair' });
    my ($c1, $c2) = @{ $s->{customers} };
    for my $body ('HELP', 'what time is it?', '', "Caf\x{e9} au lait?") {
        my $r = sms($c2->{phone}, $body);
        ok is_twiml($r), qq{"$body": TwiML} or diag $r->dump;
        like $r->{message}, qr/^Helpful Hair: .*Reply YES/, qq{"$body": a reply naming the shop};
    }
    my $cafe = db_row(q{SELECT body FROM inbound_messages WHERE body LIKE 'Caf%'});
    is $cafe && $cafe->{body}, "Caf\x{e9} au lait?", 'a UTF-8 body (signed as UTF-8) is stored as sent';
    is opt_in($c2->{id}), 1, 'HELP changes no consent';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'sent', 'offers untouched';
    is db_count(q{inbound_messages WHERE action = 'help'}), 4, 'four help messages recorded';

    # From a number that is no customer of the shop texted: empty answer.
    for my $body ('YES', 'STOP', 'HELP') {
        my $r = sms('+15559990000', $body);
        empty_twiml($r, "unknown sender $body");
    }
    is db_count(q{inbound_messages WHERE action = 'unknown_sender'}), 3, 'unknown senders recorded as such';
    # A customer writing to another number than their shop's is unknown there.
    my $r = sms($c1->{phone}, 'YES', to => '+15005550009');
    empty_twiml($r, 'YES to another number');
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'sent', '... offer still sent';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 0, '... nothing booked';
    is scalar @{ twilio_messages() }, 1, 'only the one offer SMS was sent through Twilio';
}

done_testing();
