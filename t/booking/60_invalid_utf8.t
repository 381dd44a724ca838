# SPDX-License-Identifier: Apache-2.0
# Signed SMS whose fields are not valid UTF-8 (or hold NUL, which PostgreSQL
# text cannot): the signature is checked over the bytes as sent, then every
# field is repaired (each invalid sequence and each NUL becomes U+FFFD), so
# the message is handled and answered with TwiML: no failed statement, no 503
# (which Twilio would retry), and inbound_messages holds valid text.
use strict;
use warnings;
use utf8;
binmode $_, ":encoding(UTF-8)" for Test::More->builder->output, Test::More->builder->failure_output;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

# A signed inbound SMS whose fields are byte strings, sent as they are
# (%-escaped byte for byte, signed over the same bytes).
sub raw_sms {
    my (%fields) = @_;
    my $sid = delete $fields{MessageSid} // next_sid();
    my %p = (MessageSid => $sid, SmsMessageSid => $sid, AccountSid => twilio_account_sid(),
             To => '+15005550006', NumMedia => '0', ApiVersion => '2010-04-01', %fields);
    my $path = '/api/twilio/inbound';
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s };
    my $body = join '&', map { $enc->($_) . '=' . $enc->($p{$_}) } sort keys %p;
    my $sig = twilio_signature(public_base_url() . $path, \%p);
    my $r = api(POST => $path, undef, raw => $body, content_type => 'application/x-www-form-urlencoded',
        no_secret => 1, headers => { 'X-Twilio-Signature' => $sig });
    $r->{sid} = $sid;
    return $r;
}

sub row { db_row('SELECT * FROM inbound_messages WHERE message_sid = ?', $_[0]) }

reset_all();
my $s = scenario(customers => 2);
my ($c1, $c2) = @{ $s->{customers} };
my $phone = $c1->{phone};
utf8::encode($phone);

my $offset = error_log_mark();
my @cases = (
    # [ what, Body as bytes, Body as stored ]
    [ 'Body=%FF',                       "\xFF",                     "\x{FFFD}" ],
    [ 'a Latin-1 é',                    "Caf\xE9 ok",               "Caf\x{FFFD} ok" ],
    [ 'a NUL',                          "a\x00b",                   "a\x{FFFD}b" ],
    [ 'a cut 3-byte sequence',          "x\xE2\x82y",               "x\x{FFFD}y" ],
    [ 'an overlong slash',              "\xC0\xAF",                 "\x{FFFD}\x{FFFD}" ],
    [ 'a UTF-16 surrogate',             "\xED\xA0\x80",             "\x{FFFD}\x{FFFD}\x{FFFD}" ],
    [ 'past U+10FFFF',                  "\xF4\x90\x80\x80",         "\x{FFFD}" x 4 ],
    [ 'valid text around it',           "h\xC3\xA9\xFF\xF0\x9F\x98\x80", "hé\x{FFFD}\x{1F600}" ],
);
for my $case (@cases) {
    my ($what, $bytes, $stored) = @$case;
    my $r = raw_sms(From => $phone, Body => $bytes);
    ok is_twiml($r), "$what: a TwiML answer" or diag $r->dump;
    like twiml_message($r->body) // '', qr/Reply YES to take an offer/, '... the help text';
    my $row = row($r->{sid});
    is $row && $row->{body}, $stored, '... inbound_messages holds the repaired text';
    is $row && $row->{action}, 'help', '... handled as help';
}

# Bad bytes in From and To: an unknown sender, answered all the same.
{
    my $r = raw_sms(From => "$phone\xFF", Body => 'YES');
    ok is_twiml($r), 'From with a bad byte: a TwiML answer' or diag $r->dump;
    my $row = row($r->{sid});
    is $row && $row->{from_number}, "$c1->{phone}\x{FFFD}", '... From stored repaired';
    is $row && $row->{action}, 'unknown_sender', '... an unknown sender';
    $r = raw_sms(From => $phone, To => "+1500555\x00\xC3", Body => 'YES');
    ok is_twiml($r), 'To with NUL and a cut sequence: a TwiML answer' or diag $r->dump;
    $row = row($r->{sid});
    is $row && $row->{to_number}, "+1500555\x{FFFD}\x{FFFD}", '... To stored repaired';
    $r = raw_sms(MessageSid => "SM\xFF" . ('0' x 31), From => $phone, Body => 'hi');
    ok is_twiml($r), 'MessageSid with a bad byte: a TwiML answer' or diag $r->dump;
    ok row("SM\x{FFFD}" . ('0' x 31)), '... recorded under the repaired sid';
}

# A field the module does not use, with bad bytes, changes nothing: YES books.
{
    my $r = raw_sms(From => $phone, Body => 'YES', FromCity => "M\xFCnchen", ToCity => "\x00");
    like twiml_message($r->body) // '', qr/^Booked:/, 'YES with bad bytes in other fields: booked' or diag $r->dump;
    is scalar @{ appointment_of_slot($s->{slot_id}) }, 1, '... one appointment';
}

# A signature over the repaired text instead of the bytes sent does not match.
{
    my $sid = next_sid();
    my %p = (MessageSid => $sid, AccountSid => twilio_account_sid(), To => '+15005550006', From => $c2->{phone},
             Body => "\xFF");
    my %repaired = (%p, Body => "\xEF\xBF\xBD");
    my $r = api(POST => '/api/twilio/inbound', undef,
        raw => join('&', map { "$_=" . ($_ eq 'Body' ? '%FF' : $p{$_} =~ s/\+/%2B/gr) } sort keys %p),
        content_type => 'application/x-www-form-urlencoded', no_secret => 1,
        headers => { 'X-Twilio-Signature' => twilio_signature(public_base_url() . '/api/twilio/inbound', \%repaired) });
    is $r->status, 403, 'signed over the repaired text, not the bytes: 403' or diag $r->dump;
}

my $log = error_log_since($offset);
unlike $log, qr/statement .* failed|invalid byte sequence/, 'no failed statement in error_log';
unlike $log, qr/POST \/api\/twilio\/inbound: 5\d\d/, '... and no 5xx answer';

done_testing();
