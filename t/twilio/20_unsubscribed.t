# SPDX-License-Identifier: Apache-2.0
# Twilio's 21610 (the recipient replied STOP to the shop's number, Twilio's
# own opt-out) opts the customer out exactly as an inbound STOP does (the
# same consent record, customers.sms_opt_in), their other live offers are
# declined, and each slot moves on to the next customer at once, not after
# the offer's expiry. 21211 (not a valid phone number) fails the offer for
# good and moves the slot on at once too, but is no opt-out.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel sweep offers_of live_offer);

reset_db();
twilio_reset();

sub to_phone { my ($p) = @_; [ grep { ($_->{form}{To} // '') eq $p } @{ twilio_messages() } ] }
sub opt_in { db_row('SELECT sms_opt_in FROM customers WHERE id = ?', $_[0])->{sms_opt_in} }

# --- 21610 ---------------------------------------------------------------------------------------------
my $shop = make_shop(name => 'Stop Shop');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my $a = make_customer($shop->{id}, name => 'A (replied STOP to Twilio)');
my $b = make_customer($shop->{id}, name => 'B');
my $c = make_customer($shop->{id}, name => 'C');
# A has a live offer of another slot already, sent before they replied STOP.
my $r0 = cancel(make_appointment($shop->{id}, $cx->{id}, startsAt => iso_in(3 * 86400), endsAt => iso_in(3 * 86400 + 1800))->{id});
my $slot0 = $r0->json->{slotOpening}{id};
is live_offer($slot0)->{customer_id}, $a->{id}, "A holds the first slot's offer";

# The same phone at a second shop on the same number, and at a shop on another number.
my $same_number = make_shop(name => 'Same Number Shop', smsFrom => $shop->{smsFrom});
my $other_number = make_shop(name => 'Other Number Shop', smsFrom => '+15005550007');
my $a2 = make_customer($same_number->{id}, name => 'A at the same number', phone => $a->{phone});
my $a3 = make_customer($other_number->{id}, name => 'A at another number', phone => $a->{phone});

twilio_behave({ unsubscribed => [ $a->{phone} ] });
my $before = scalar @{ to_phone($a->{phone}) };    # the first slot's SMS
my $r = cancel(make_appointment($shop->{id}, $cx->{id})->{id});
is $r->status, 200, 'cancel: 200' or diag $r->dump;
my $slot = $r->json->{slotOpening}{id};
my @all = @{ to_phone($a->{phone}) };
my $tries = [ @all[ $before .. $#all ] ];
is scalar @$tries, 1, 'the offer to A was tried once';
is $tries->[0]{status}, 400, '... the stand-in answered 400';
is $tries->[0]{response}{code}, 21610, '... error 21610';

my $o = offers_of($slot);
is $o->[0]{customer_id}, $a->{id}, "the new slot's first offer was A's";
is $o->[0]{status}, 'failed', '... failed for good';
is $o->[0]{attempts}, 1, '... after one attempt';
like $o->[0]{last_error}, qr/21610/, '... lastError has 21610';
my $live = live_offer($slot);
ok $live, 'the slot moved on at once (no sweep, no expiry)';
isnt $live && $live->{customer_id}, $a->{id}, '... to someone else than A';
is scalar(grep { $_->{status} == 201 } map { @{ to_phone($_->{phone}) } } $b, $c), 2,
    "... B and C got an SMS each (the first slot, passed on, and the new one)";

ok !opt_in($a->{id}), 'A is opted out (sms_opt_in false), as an inbound STOP does';
ok !opt_in($a2->{id}), '... at every shop on that number, as STOP does';
ok opt_in($a3->{id}), '... but not at a shop on another number';
my $o0 = offers_of($slot0);
is $o0->[0]{status}, 'declined', "A's live offer of the first slot is declined";
my $l0 = live_offer($slot0);
ok $l0 && $l0->{customer_id} ne $a->{id}, '... and the first slot moved on at once too';

# Never again: a sweep and a new slot do not try A.
sweep();
my $r2 = cancel(make_appointment($shop->{id}, $cx->{id}, startsAt => iso_in(4 * 86400), endsAt => iso_in(4 * 86400 + 1800))->{id});
is $r2->status, 200, 'a third cancel: 200';
is scalar @{ to_phone($a->{phone}) }, $before + 1, 'A is never tried again';
twilio_behave({});

# --- 21211 ---------------------------------------------------------------------------------------------
{
    my $s = make_shop(name => 'Bad Number Shop');
    my $cx2 = make_customer($s->{id}, name => 'Canceller');
    my $x = make_customer($s->{id}, name => 'X (no such number)');
    my $y = make_customer($s->{id}, name => 'Y');
    twilio_behave({ invalidNumbers => [ $x->{phone} ] });
    my $rr = cancel(make_appointment($s->{id}, $cx2->{id})->{id});
    is $rr->status, 200, '21211: cancel: 200' or diag $rr->dump;
    my $sl = $rr->json->{slotOpening}{id};
    my $t = to_phone($x->{phone});
    is $t->[0]{response}{code}, 21211, '... the stand-in answered 21211';
    my $oo = offers_of($sl);
    is $oo->[0]{status}, 'failed', "... X's offer failed for good";
    is $oo->[0]{attempts}, 1, '... after one attempt';
    like $oo->[0]{last_error}, qr/21211/, '... lastError has 21211';
    my $l = live_offer($sl);
    is $l && $l->{customer_id}, $y->{id}, '... Y was offered at once';
    is $l && $l->{status}, 'sent', '... sent';
    ok opt_in($x->{id}), '... X is not opted out (an invalid number is no STOP)';
    twilio_behave({});
}
done_testing();
