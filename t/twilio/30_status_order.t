# SPDX-License-Identifier: Apache-2.0
# Twilio's status callbacks arrive late and out of order: a report only moves
# an offer's delivery status forward (queued < sending < sent < delivered /
# read < undelivered / failed). A late "sent" never overwrites "delivered",
# "undelivered" or "failed", and a late "delivered" never revives a failure. Checked with the stand-in's own callbacks (in order and out
# of order, signed by it) and with signed reports posted directly.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel offers_of live_offer status_callback);

reset_db();
twilio_reset();

my $N = 0;
# A shop, a canceller and two waitlist customers; the cancel offers the slot to the first.
sub offered {
    my $shop = make_shop(name => 'Order Shop ' . ++$N);
    my $cx = make_customer($shop->{id}, name => 'Canceller');
    my @w = map { make_customer($shop->{id}, name => "W$_") } 1 .. 2;
    my $r = cancel(make_appointment($shop->{id}, $cx->{id})->{id});
    die 'cancel: ' . $r->dump unless $r->status == 200;
    my $slot = $r->json->{slotOpening}{id};
    return ($slot, live_offer($slot), @w);
}
sub row { db_row('SELECT status, delivery_status, last_error FROM slot_offers WHERE id = ?', $_[0]) }
sub callbacks_of {
    my ($sid, $n) = @_;
    return wait_until(sub {
        my @c = grep { $_->{sid} eq $sid } @{ twilio_callbacks() };
        @c >= $n ? \@c : undef
    }, timeout => 15) || [];
}

# --- the stand-in's callbacks ------------------------------------------------------------------------
{
    twilio_behave({ callbacks => 'in-order', finalStatus => 'delivered' });
    my ($slot, $offer) = offered();
    my $cbs = callbacks_of($offer->{provider_message_id}, 3);
    is_deeply [ map { "$_->{status}:$_->{httpStatus}" } @$cbs ], [ 'queued:204', 'sent:204', 'delivered:204' ],
        'in order: queued, sent, delivered, each accepted (204: the signature checked out)';
    is row($offer->{id})->{delivery_status}, 'delivered', '... delivered recorded';
    is row($offer->{id})->{status}, 'sent', '... the offer stays sent';
}
{
    twilio_behave({ callbacks => 'out-of-order', finalStatus => 'delivered' });
    my ($slot, $offer) = offered();
    my $cbs = callbacks_of($offer->{provider_message_id}, 3);
    is_deeply [ map { "$_->{status}:$_->{httpStatus}" } @$cbs ], [ 'delivered:204', 'sent:204', 'queued:204' ],
        'out of order: delivered, then a late sent and queued, each 204';
    is row($offer->{id})->{delivery_status}, 'delivered', '... delivered stays: the late sent and queued change nothing';
    is row($offer->{id})->{status}, 'sent', '... the offer stays sent';
}
{
    twilio_behave({ callbacks => 'out-of-order', finalStatus => 'undelivered', callbackErrorCode => 30005 });
    my ($slot, $offer, $w1, $w2) = offered();
    my $cbs = callbacks_of($offer->{provider_message_id}, 3);
    is_deeply [ map { $_->{status} } @$cbs ], [qw(undelivered sent queued)], 'out of order: undelivered first, then sent, queued';
    my $row = row($offer->{id});
    is $row->{delivery_status}, 'undelivered', '... undelivered stays';
    is $row->{status}, 'failed', '... the offer failed';
    like $row->{last_error}, qr/undelivered \(error 30005\)/, '... lastError says why';
    # The stand-in's behaviour applies to the next customer's SMS too: look for the offer, not its fate.
    my $next = wait_until(sub { offers_of($slot)->[1] }, timeout => 10);
    is $next && $next->{customer_id}, $w2->{id}, '... the slot went to the next customer at once';
}
{
    twilio_behave({ callbacks => 'in-order', finalStatus => 'failed' });
    my ($slot, $offer) = offered();
    my $cbs = callbacks_of($offer->{provider_message_id}, 2);
    is_deeply [ map { $_->{status} } @$cbs ], [qw(queued failed)], 'in order: queued, failed';
    is row($offer->{id})->{status}, 'failed', '... the offer failed';
    is row($offer->{id})->{delivery_status}, 'failed', '... delivery status failed';
}
twilio_behave({});

# --- signed reports posted directly ----------------------------------------------------------------------
sub report {
    my ($sid, $status, %extra) = @_;
    my $r = status_callback({ MessageSid => $sid, MessageStatus => $status, SmsSid => $sid, SmsStatus => $status,
        AccountSid => twilio_account_sid(), From => '+15005550006', To => '+15550000000', ApiVersion => '2010-04-01',
        %extra });
    die "report $status: " . $r->dump unless $r->status == 204;
}
for my $final (qw(delivered undelivered failed)) {
    my ($slot, $offer) = offered();
    my $sid = $offer->{provider_message_id};
    report($sid, 'queued');
    report($sid, $final, $final eq 'delivered' ? () : (ErrorCode => '30003'));
    my $status = row($offer->{id})->{status};
    report($sid, 'sent');
    is row($offer->{id})->{delivery_status}, $final, "a late 'sent' after '$final' leaves '$final'";
    report($sid, 'queued');
    report($sid, 'sending');
    is row($offer->{id})->{delivery_status}, $final, "... so do a late 'queued' and 'sending'";
    is row($offer->{id})->{status}, $status, "... and the offer's status ($status)";
}
{
    my ($slot, $offer) = offered();
    my $sid = $offer->{provider_message_id};
    report($sid, 'delivered');
    report($sid, 'read');
    is row($offer->{id})->{delivery_status}, 'read', "'read' after 'delivered' is forward";
    report($sid, 'delivered');
    is row($offer->{id})->{delivery_status}, 'read', "... a late 'delivered' after 'read' changes nothing";
    report($sid, 'some_new_status');
    is row($offer->{id})->{delivery_status}, 'read', 'a status Twilio may add later is not recorded';
    # A carrier's failure report after "delivered" wins (t/loop/50_status_callback.t): the slot moves on.
    report($sid, 'undelivered', ErrorCode => '30003');
    is row($offer->{id})->{status}, 'failed', "an 'undelivered' after 'delivered' fails the offer";
    report($sid, 'delivered');
    report($sid, 'sent');
    my $row = row($offer->{id});
    is $row->{delivery_status}, 'undelivered', "... and a late 'delivered' or 'sent' after it changes nothing";
    is $row->{status}, 'failed', '... the offer stays failed';
}
{
    my ($slot, $offer) = offered();
    my $sid = $offer->{provider_message_id};
    report($sid, 'sent');
    is row($offer->{id})->{delivery_status}, 'sent', "skipping 'queued': 'sent' recorded";
    report($sid, 'delivered');
    is row($offer->{id})->{delivery_status}, 'delivered', "... then 'delivered'";
}
done_testing();
