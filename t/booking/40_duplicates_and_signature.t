# SPDX-License-Identifier: Apache-2.0
# POST /api/twilio/inbound: X-Twilio-Signature (missing, wrong, tampered,
# other URL: 403 and nothing changes; the URL without its port and with its
# query string: accepted), and repeated deliveries of one MessageSid (same
# TwiML, nothing changes).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use SlotRecovery::Scenario qw(overlap_ok);

reset_db();
twilio_reset();
stripe_reset();

# --- refused signatures -------------------------------------------------------------
{
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $base = public_base_url();
    (my $no_port = $base) =~ s{:\d+$}{};

    my $other = sms_request($c1->{phone}, 'NO');    # a valid signature for other fields
    my @cases = (
        [ 'no X-Twilio-Signature',              signature => undef ],
        [ 'empty X-Twilio-Signature',           signature => '' ],
        [ 'garbage signature',                  signature => 'not-a-signature' ],
        [ 'signed with another auth token',     token => 'wrong-auth-token-0123456789abcdef' ],
        [ 'signed over another Body',           sign_params => $other->{params} ],
        [ 'signature of another request',       signature => $other->{headers}{'X-Twilio-Signature'} ],
        [ 'signed without AccountSid/NumMedia', sign_params => { From => $c1->{phone}, To => '+15005550006',
                                                  Body => 'YES' } ],
        [ 'signed over another path',           sign_url => "$base/api/twilio/status" ],
        [ 'signed over https',                  sign_url => "https://127.0.0.1/api/twilio/inbound" ],
        [ 'signed over another host',           sign_url => "http://example.com:" . Apache::Test::vars('port')
                                                  . '/api/twilio/inbound' ],
        [ 'signed over the URL with a query, sent without', sign_url => "$base/api/twilio/inbound?x=1" ],
        [ 'signed without the query it was sent with', query => 'shop=1',
                                                  sign_url => "$base/api/twilio/inbound" ],
        [ 'signed with port 80 added',          sign_url => "$no_port:80/api/twilio/inbound" ],
    );
    for my $case (@cases) {
        my ($what, %o) = @$case;
        my $r = sms($c1->{phone}, 'YES', %o);
        is $r->status, 403, "$what: 403" or diag $r->dump;
    }
    is db_count('inbound_messages'), 0, 'refused requests leave no inbound_messages row';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'sent', '... the offer is still sent';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 0, '... nothing booked';
    is scalar @{ stripe_requests() }, 0, '... nothing sent to Stripe';
    ok !offer_of($s->{slot_id}, $c2->{id}), '... nobody else offered';

    # A refused STOP does not opt out either.
    my $r = sms($c2->{phone}, 'STOP', signature => undef);
    is $r->status, 403, 'unsigned STOP: 403';
    ok db_row('SELECT sms_opt_in FROM customers WHERE id = ?', $c2->{id})->{sms_opt_in}, '... still opted in';

    # --- accepted variants ---
    $r = sms($c2->{phone}, 'HELP', sign_url => "$no_port/api/twilio/inbound");
    is $r->status, 200, 'signed over the URL without its port: accepted' or diag $r->dump;
    $r = sms($c2->{phone}, 'HELP', query => 'shop=1&x=%2B1');
    is $r->status, 200, 'signed over the URL with its query string: accepted' or diag $r->dump;
    $r = sms($c2->{phone}, 'HELP', query => 'a=b', sign_url => "$no_port/api/twilio/inbound?a=b");
    is $r->status, 200, '... and without the port' or diag $r->dump;
    $r = sms($c2->{phone}, 'HELP', extra => { MediaUrl0 => 'https://api.twilio.com/x.jpg', NumMedia => '1',
        MessagingServiceSid => 'MG0123456789abcdef0123456789abcdef' });
    is $r->status, 200, 'more Twilio fields, all signed: accepted' or diag $r->dump;
    is db_count('inbound_messages'), 4, 'the accepted ones are recorded';

    # The right signature and a real answer.
    $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, 'correctly signed YES books' or diag $r->dump;
}

# --- the same MessageSid twice: YES ---------------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $sid = next_sid();
    my $r1 = sms($c1->{phone}, 'YES', sid => $sid);
    like $r1->{message} // '', qr/^Booked:/, 'first delivery of YES: booked' or diag $r1->dump;
    my $r2 = sms($c1->{phone}, 'YES', sid => $sid);
    ok is_twiml($r2), 'second delivery: TwiML' or diag $r2->dump;
    is $r2->body, $r1->body, '... the very same TwiML';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... one appointment';
    is scalar @{ stripe_payment_intents() }, 1, '... one PaymentIntent request';
    is db_count('payments'), 1, '... one payment';
    is db_count('inbound_messages'), 1, '... one inbound_messages row';
    is scalar @{ sms_to($c2->{phone}) }, 0, '... nobody else offered';

    # A third time, from the other customer's number with the same sid: still the first answer.
    my $r3 = sms($c1->{phone}, 'YES', sid => $sid, extra => { Body => 'yes' });
    is $r3->body, $r1->body, 'a redelivery that differs in a field: the first answer again';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... still one appointment';
}

# --- the same MessageSid twice: NO and STOP -------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 3);
    my ($c1, $c2, $c3) = @{ $s->{customers} };
    my $sid = next_sid();
    my $r1 = sms($c1->{phone}, 'NO', sid => $sid);
    is offer_of($s->{slot_id}, $c2->{id})->{status}, 'sent', 'NO: next customer offered';
    my $r2 = sms($c1->{phone}, 'NO', sid => $sid);
    is $r2->body, $r1->body, 'repeated NO: same TwiML';
    ok !offer_of($s->{slot_id}, $c3->{id}), '... the slot did not move on a second time';
    is scalar @{ twilio_messages() }, 2, '... two offer SMS in all';

    # STOP, START, then the STOP delivered again: the customer stays opted in.
    my $stop = next_sid();
    sms($c3->{phone}, 'STOP', sid => $stop);
    sms($c3->{phone}, 'START');
    my $r = sms($c3->{phone}, 'STOP', sid => $stop);
    like $r->body, qr{<Response></Response>}, 'repeated STOP: the same empty answer';
    ok db_row('SELECT sms_opt_in FROM customers WHERE id = ?', $c3->{id})->{sms_opt_in},
        '... and it does not opt the customer out again';
}

# --- concurrent deliveries of one MessageSid ------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ delay => 0.5 });
    my $s = scenario(customers => 2);
    my $c1 = $s->{customers}[0];
    my $req = sms_request($c1->{phone}, 'YES');
    my @kids;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $go = time + 1;
    for my $n (1 .. 8) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            require HTTP::Tiny;
            Time::HiRes::sleep(0.01) while Time::HiRes::time() < $go;
            my $res = HTTP::Tiny->new(timeout => 60)->post(url($req->{path}), {
                content => $req->{body},
                headers => { %{ $req->{headers} }, 'Content-Type' => 'application/x-www-form-urlencoded',
                             'X-Test-Span' => "dup40-$$" } });
            open my $fh, '>', "$dir/dup40.$$" or POSIX::_exit(2);
            print {$fh} "$res->{status}\n$res->{content}";
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    my (%bodies, @status);
    for my $pid (@kids) {
        waitpid $pid, 0;
        open my $fh, '<', "$dir/dup40.$pid" or next;
        my $status = <$fh>;
        chomp $status;
        my $body = do { local $/; <$fh> };
        close $fh;
        unlink "$dir/dup40.$pid";
        push @status, $status;
        $bodies{$body}++;
    }
    is_deeply \@status, [ (200) x 8 ], '8 concurrent deliveries of one MessageSid: all 200';
    overlap_ok([ map { "dup40-$_" } @kids ], '8 concurrent deliveries');
    is scalar keys %bodies, 1, '... all the same answer';
    like((keys %bodies)[0] // '', qr/Booked:/, '... the booking\'s');
    api(POST => '/api/jobs/outbox');    # the deliveries came from other processes: run the worker once
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... one appointment';
    is scalar @{ stripe_payment_intents() }, 1, '... one PaymentIntent request';
    is db_count('inbound_messages'), 1, '... one inbound_messages row';
}

# --- a repeated YES whose card was declined --------------------------------------------
# The answer says booked, the deposit will be charged (the worker tries the
# card after it); the customer then gets one text that it was declined. A
# redelivery gets the same answer, and charges and texts nothing more.
{
    reset_db(); twilio_reset(); stripe_reset();
    stripe_behave({ decline => json_true() });
    my $s = scenario(customers => 2);
    my ($c1, $c2) = @{ $s->{customers} };
    my $sid = next_sid();
    my $r1 = sms($c1->{phone}, 'YES', sid => $sid);
    like $r1->{message} // '', qr/^Booked: .* will be charged/, 'declined YES: the reply says booked, will be charged'
        or diag $r1->dump;
    my $declined = sub { [ grep { ($_->{form}{Body} // '') =~ /your card was declined/ } @{ sms_to($c1->{phone}) } ] };
    is scalar @{ $declined->() }, 1, '... then one text: the card was declined';
    my $r2 = sms($c1->{phone}, 'YES', sid => $sid);
    is $r2->{message}, $r1->{message}, 'redelivery of the declined YES: the same reply' or diag $r2->dump;
    is scalar @{ stripe_payment_intents() }, 1, '... no second PaymentIntent';
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... no second appointment';
    is scalar @{ offer_sms_to($c2->{phone}) }, 1, '... the next customer offered once';
    is scalar @{ $declined->() }, 1, '... and no second text';
}

# --- required fields (correctly signed) ----------------------------------------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 1);
    my $c1 = $s->{customers}[0];
    for my $case ([ 'no MessageSid nor SmsMessageSid', drop => [qw(MessageSid SmsMessageSid)] ],
                  [ 'no From', drop => ['From'] ],
                  [ 'no To',   drop => ['To'] ],
                  [ 'empty From', extra => { From => '' } ]) {
        my ($what, %o) = @$case;
        my $r = sms($c1->{phone}, 'YES', %o);
        is $r->status, 400, "$what: 400" or diag $r->dump;
    }
    is db_count('inbound_messages'), 0, '... nothing recorded';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'sent', '... offer still sent';
    # SmsMessageSid alone (Twilio's older name) will do.
    my $r = sms($c1->{phone}, 'YES', drop => ['MessageSid']);
    like $r->{message} // '', qr/^Booked:/, 'SmsMessageSid without MessageSid: handled' or diag $r->dump;
    is db_count('inbound_messages WHERE message_sid = ?', $r->{sid}), 1, '... recorded under it';
}

done_testing();

use File::Temp ();
use POSIX ();
use Time::HiRes ();
