# SPDX-License-Identifier: Apache-2.0
# The Twilio stand-in (t/stubs/fake_twilio.py) is as strict as Twilio, so the
# module's tests cannot pass against a lenient fake: the auth token and the
# account SID are checked (401, error 20003), only a real form body is read
# (else To is missing: 400, 21604), To must be E.164 (21211), an unsubscribed
# recipient is refused (21610), and the status callbacks it makes are signed
# as Twilio signs them. Talks to the stand-in directly, not through httpd.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use MIME::Base64 qw(encode_base64);
use SlotRecovery::Test qw(:all);

twilio_reset();
my $HTTP = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
my $SID = twilio_account_sid();
my $PATH = "/2010-04-01/Accounts/$SID/Messages.json";

sub form { my %f = @_; join '&', map { "$_=" . ($f{$_} =~ s/([^A-Za-z0-9])/sprintf '%%%02X', ord $1/ger) } sort keys %f }
sub send_sms {
    my (%o) = @_;
    my $user = $o{user} // $SID;
    my $token = $o{token} // twilio_auth_token();
    my $res = $HTTP->request(POST => twilio_url($o{path} // $PATH), {
        headers => { Authorization => 'Basic ' . encode_base64("$user:$token", ''),
                     'Content-Type' => $o{content_type} // 'application/x-www-form-urlencoded' },
        content => $o{body} // form(To => $o{to} // '+15557770001', From => '+15005550006', Body => 'hello',
            ($o{callback} ? (StatusCallback => $o{callback}) : ())),
    });
    return ($res->{status}, eval { decode_json($res->{content}) } || {});
}

my ($st, $j) = send_sms();
is $st, 201, 'the right SID and auth token: 201';
like $j->{sid}, qr/^SM[0-9a-f]{32}$/, '... a message sid';

($st, $j) = send_sms(token => 'not-the-token');
is $st, 401, 'a wrong auth token: 401';
is $j->{code}, 20003, '... error 20003';
($st, $j) = send_sms(token => '');
is $st, 401, 'an empty auth token: 401';
my $other = 'AC' . ('9' x 32);
($st, $j) = send_sms(user => $other, path => "/2010-04-01/Accounts/$other/Messages.json");
is $st, 401, 'an account Twilio does not know: 401';
is $j->{code}, 20003, '... error 20003';
twilio_accounts({ $other => 'other-token-0123456789' });
($st) = send_sms(user => $other, token => 'other-token-0123456789', path => "/2010-04-01/Accounts/$other/Messages.json");
is $st, 201, 'the same account once added through /_control/accounts, with its token: 201';

twilio_behave({ authToken => 'rotated-at-twilio-000000' });
($st, $j) = send_sms();
is $st, 401, 'behaviour authToken (a token rotated at Twilio): our token is refused, 401';
($st) = send_sms(token => 'rotated-at-twilio-000000');
is $st, 201, '... the new one works';
twilio_behave({});

($st, $j) = send_sms(content_type => 'application/json', body => encode_json({ To => '+15557770001', From => '+15005550006', Body => 'x' }));
is $st, 400, 'a JSON body is not read as a form: 400';
is $j->{code}, 21604, "... error 21604 (no 'To')";
($st, $j) = send_sms(content_type => 'text/plain');
is $st, 400, 'a form body sent as text/plain is not read either: 400';
is $j->{code}, 21604, '... error 21604';

for my $to ('5557770001', '+05557770001', '+1 555 777 0001', '+1234567890123456') {
    ($st, $j) = send_sms(to => $to);
    is $st, 400, "To '$to' (not E.164): 400";
    is $j->{code}, 21211, '... error 21211';
}
twilio_behave({ unsubscribed => ['+15557770002'], invalidNumbers => ['+15557770003'] });
($st, $j) = send_sms(to => '+15557770002');
is $st, 400, 'an unsubscribed recipient: 400';
is $j->{code}, 21610, '... error 21610';
like $j->{message}, qr/unsubscribed recipient/, '... "Attempt to send to unsubscribed recipient"';
($st, $j) = send_sms(to => '+15557770003');
is $j->{code}, 21211, 'a number listed in invalidNumbers: 21211';
($st) = send_sms(to => '+15557770001');
is $st, 201, 'anyone else: 201';

# --- status callbacks, signed as Twilio signs them ------------------------------------------------------
my $url = status_url();
sub status_url { public_base_url() . '/api/twilio/status' }
for my $case (['in-order', 'delivered', [qw(queued sent delivered)]],
              ['out-of-order', 'delivered', [qw(delivered sent queued)]],
              ['in-order', 'undelivered', [qw(queued sent undelivered)]],
              ['in-order', 'failed', [qw(queued failed)]]) {
    my ($mode, $final, $want) = @$case;
    twilio_reset();
    twilio_behave({ callbacks => $mode, finalStatus => $final, callbackDelay => 0.01 });
    ($st, $j) = send_sms(callback => $url);
    is $st, 201, "$mode, $final: 201";
    my $cbs = wait_until(sub { my $c = twilio_callbacks(); @$c >= @$want ? $c : undef }, timeout => 10) || [];
    is_deeply [ map { $_->{status} } @$cbs ], $want, "... callbacks @$want";
    my $ok = grep { $_->{signature} eq twilio_signature($url, $_->{params}) && $_->{params}{MessageSid} eq $j->{sid} } @$cbs;
    is $ok, scalar @$want, '... each signed with the auth token over the URL and the fields';
    is_deeply [ map { $_->{httpStatus} } @$cbs ], [ map { 204 } @$want ], '... the module accepted each (204)';
    if ($final ne 'delivered') {
        like $cbs->[-1]{params}{ErrorCode} // $cbs->[0]{params}{ErrorCode}, qr/^300\d\d$/, '... the failure carries an ErrorCode';
    }
}
# "none" (also the default): a message sent then gets no callback, while one
# sent after it with callbacks gets all of its own (so the first had its time).
twilio_reset();
twilio_behave({ callbacks => 'none' });
my ($st1, $quiet) = send_sms(callback => $url);
twilio_behave({});
my ($st2, $quiet2) = send_sms(callback => $url);
twilio_behave({ callbacks => 'in-order', callbackDelay => 0.01 });
my ($st3, $loud) = send_sms(callback => $url);
ok wait_until(sub { (grep { $_->{sid} eq $loud->{sid} } @{ twilio_callbacks() }) == 3 }, timeout => 10),
    'a message sent with callbacks got its three';
is scalar(grep { $_->{sid} ne $loud->{sid} } @{ twilio_callbacks() }), 0,
    'the two sent before, with "callbacks": "none" and with no behaviour, got none';
twilio_reset();
done_testing();
