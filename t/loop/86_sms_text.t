# SPDX-License-Identifier: Apache-2.0
# SMS text in any script: the shop's name in an offer (and in the replies to
# SMS) is cut on a character boundary, never inside a UTF-8 sequence or a
# combining sequence, with an ellipsis, so that the text stays within one
# GSM-7 segment (160 septets) or two UCS-2 segments (134 UTF-16 code units);
# Twilio always receives valid UTF-8.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use Encode ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel sent_messages);
use SlotRecovery::Flows qw(sms);

binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

reset_all();

# The GSM 03.38 default alphabet, and its extension table (two septets each).
my $GSM_BASIC = qr/[\@£\$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-.\/0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà]/;
my $GSM_EXT = qr/[\f^{}\\\[~\]|€]/;

# (encoding, units, segments) of a text, as a phone network counts them.
sub sms_cost {
    my ($text) = @_;
    my @chars = split //, $text;
    if (!grep { !/$GSM_BASIC/ && !/$GSM_EXT/ } @chars) {
        my $units = 0;
        $units += /$GSM_EXT/ ? 2 : 1 for @chars;
        return ('GSM-7', $units, $units <= 160 ? 1 : int(($units + 152) / 153));
    }
    my $units = 0;
    $units += ord($_) > 0xFFFF ? 2 : 1 for @chars;
    return ('UCS-2', $units, $units <= 70 ? 1 : int(($units + 66) / 67));
}

# The Body parameter exactly as the stand-in received it: bytes, from the raw form.
sub raw_body {
    my ($m) = @_;
    for my $pair (split /&/, $m->{rawBody}) {
        my ($k, $v) = split /=/, $pair, 2;
        next unless $k eq 'Body';
        $v =~ tr/+/ /;
        $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        return $v;
    }
    return undef;
}

my $n = 0;
# The offer SMS for a shop named $name: a cancellation, one waiting customer.
sub offer_for {
    my ($name) = @_;
    $n++;
    my $shop = make_shop(name => $name, smsFrom => sprintf('+1500555%04d', 7000 + $n));
    my $cx = make_customer($shop->{id}, name => 'Cancels');
    my $w = make_customer($shop->{id}, name => 'Waits');
    my $r = cancel(make_appointment($shop->{id}, $cx->{id}, startsAt => '2031-03-14T17:30:00Z',
        endsAt => '2031-03-14T18:00:00Z')->{id});
    die 'cancel: ' . $r->dump unless $r->status == 200;
    my ($m) = grep { $_->{form}{To} eq $w->{phone} } @{ sent_messages() };
    return { shop => $shop, waiting => $w, message => $m };
}

my $TAIL = ': a slot opened on Fri 14 Mar 13:30. Reply YES to book it (20.00 USD deposit) or NO to pass. '
    . 'Offer ends in 15 min.';

# Checks one offer: valid UTF-8, the name (maybe cut), the rest intact, the budget.
sub offer_ok {
    my ($label, $name, %o) = @_;
    my $got = offer_for($name);
    my $m = $got->{message};
    ok $m, "$label: an SMS" or return;
    my $bytes = raw_body($m);
    my $text = eval { Encode::decode('UTF-8', $bytes, Encode::FB_CROAK | Encode::LEAVE_SRC) };
    ok defined $text, "$label: Twilio received valid UTF-8" or return diag explain $bytes;
    is $text, $m->{form}{Body}, "$label: ... the Body as parsed";
    my ($shown) = $text =~ /^(.*?)\Q$TAIL\E$/s;
    ok defined $shown, "$label: the text after the name is whole" or return diag $text;
    my ($enc, $units, $segments) = sms_cost($text);
    is $enc, $o{encoding}, "$label: $o{encoding}";
    cmp_ok $segments, '<=', $o{encoding} eq 'GSM-7' ? 1 : 2,
        "$label: within " . ($o{encoding} eq 'GSM-7' ? 'one GSM-7 segment' : 'two UCS-2 segments') . " ($units units)";
    if ($o{whole}) {
        is $shown, $name, "$label: the whole name";
        return $shown;
    }
    my $ellipsis = $enc eq 'GSM-7' ? '...' : '…';
    ok $shown =~ s/\Q$ellipsis\E$//, "$label: the name ends with '$ellipsis'" or diag $shown;
    is substr($name, 0, length $shown), $shown, "$label: ... cut from the name, at a character boundary";
    cmp_ok length $shown, '>=', $o{at_least} // 12, "$label: ... keeping " . length($shown) . ' characters';
    return $shown;
}

# 6 bytes, then 20 two-byte letters: the old cut at byte 37 fell inside the 16th.
my $cyr = 'Salon ' . ('Ж' x 20);
is length(Encode::encode('UTF-8', $cyr)), 46, 'setup: a 46-byte name of 26 characters';
my $shown = offer_ok('Cyrillic, across the old cut', $cyr, encoding => 'UCS-2', at_least => 18);
my $longer = substr($cyr, 0, length($shown) + 1);
cmp_ok((sms_cost("$longer…$TAIL"))[2], '>', 2, '... one character more would not fit: the cut is as long as the budget allows');

offer_ok('a short Japanese name', '東京ヘアサロン', encoding => 'UCS-2', whole => 1);
offer_ok('an ordinary Latin name with GSM-7 accents', 'Café Élan Barbers', encoding => 'GSM-7', whole => 1);
offer_ok('an emoji (two UTF-16 units)', 'Cuts 💈 & Shaves', encoding => 'UCS-2', whole => 1);
$shown = offer_ok('a long GSM-7 name', 'The Grand Old Barbershop and Beauty Parlour of Upper West Side',
    encoding => 'GSM-7', at_least => 40);
unlike $shown, qr/ $/, '... no space left before the ellipsis';

# Combining marks stay with their letter.
$shown = offer_ok('letters with combining accents', "\x{416}\x{301}" x 15, encoding => 'UCS-2');
like $shown, qr/^(?:\x{416}\x{301})+$/, '... never a letter without its accent';

# A reply naming the shop (HELP) is cut the same way.
{
    my $name = 'Парикмахерская «Золотые ножницы» на Тверской улице';
    my $shop = make_shop(name => $name, smsFrom => '+15005558001');
    my $c = make_customer($shop->{id}, name => 'Asks');
    my $r = sms($c->{phone}, 'HELP', to => '+15005558001');
    my $reply = Encode::decode('UTF-8', $r->{message} // '');
    my ($prefix) = $reply =~ /^(.*)…: we text you when a slot opens\./s;
    ok defined $prefix, 'HELP for a long Cyrillic name: the name cut with an ellipsis' or diag $reply;
    is substr($name, 0, length($prefix // '')), $prefix, '... at a character boundary';
    my ($enc, $units, $segments) = sms_cost($reply);
    cmp_ok $segments, '<=', 2, "... within two UCS-2 segments ($units units)";
}

done_testing();
