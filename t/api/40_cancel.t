# SPDX-License-Identifier: Apache-2.0
# POST /api/appointments/{id}/cancel and GET /api/slot-openings/{id}: a future
# appointment opens a slot (with its first offer), a past or running one does
# not, cancelling twice answers the same slot opening, unknown ids 404.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(:all);

reset_db();
twilio_reset();

my $shop = make_shop(name => 'Cancel Shop');
my $alice = make_customer($shop->{id}, name => 'Alice', phone => '+15553330001');
my $bob   = make_customer($shop->{id}, name => 'Bob',   phone => '+15553330002');

# --- a future appointment ----------------------------------------------------------
my ($appt, $slot);
{
    $appt = make_appointment($shop->{id}, $alice->{id}, startsAt => iso_in(3 * 86400),
        endsAt => iso_in(3 * 86400 + 2700));
    my $r = cancel($appt->{id});
    is $r->status, 200, 'cancel a future appointment: 200' or diag $r->dump;
    is_deeply [ sort keys %{ $r->json || {} } ], [qw(appointment slotOpening)], '... {appointment, slotOpening}';

    my $a = $r->json->{appointment};
    is $a->{id}, $appt->{id}, 'appointment: the same id';
    is $a->{status}, 'cancelled', 'appointment: status cancelled';
    like $a->{cancelledAt}, RFC3339_RE, 'appointment: cancelledAt set (RFC 3339)';
    is $a->{startsAt}, $appt->{startsAt}, 'appointment: startsAt unchanged';
    is ref $a->{customer}, 'HASH', 'appointment: the full view (customer nested)';

    $slot = $r->json->{slotOpening};
    is ref $slot, 'HASH', 'slotOpening is an object';
    for my $k (qw(id shopId status startsAt endsAt sourceAppointmentId filledByAppointmentId createdAt offers)) {
        ok exists $slot->{$k}, "slotOpening has $k";
    }
    like $slot->{id}, qr/^[1-9]\d*$/, 'slotOpening: id is digits';
    is_json_kind($r, 'slotOpening.id', 'string', 'slotOpening: id is a JSON string');
    is $slot->{shopId}, $shop->{id}, 'slotOpening: shopId';
    is $slot->{status}, 'open', 'slotOpening: open';
    ok !$slot->{waiting}, 'slotOpening: not waiting (it has an offer)';
    is_json_kind($r, 'slotOpening.waiting', 'boolean', 'slotOpening: waiting is a JSON boolean');
    is $slot->{startsAt}, $appt->{startsAt}, "slotOpening: the appointment's start";
    is $slot->{endsAt}, $appt->{endsAt}, "slotOpening: the appointment's end";
    is $slot->{sourceAppointmentId}, $appt->{id}, 'slotOpening: sourceAppointmentId';
    ok !defined $slot->{filledByAppointmentId}, 'slotOpening: filledByAppointmentId null';
    like $slot->{createdAt}, RFC3339_RE, 'slotOpening: createdAt';
    is ref $slot->{offers}, 'ARRAY', 'slotOpening: offers is an array';
    is scalar @{ $slot->{offers} }, 1, '... with the first offer already';
    is $slot->{offers}[0]{customerId}, $bob->{id}, '... to the other customer';
    is $slot->{offers}[0]{status}, 'pending', '... pending: the request wrote it, the worker sends it';
    is db_row('SELECT status FROM slot_offers WHERE id = ?', $slot->{offers}[0]{id})->{status}, 'sent',
        '... and the worker (the pass the test client runs after the cancel) sent it';

    my $arow = db_row('SELECT status, cancelled_at FROM appointments WHERE id = ?', $appt->{id});
    is $arow->{status}, 'cancelled', 'row: appointment cancelled';
    ok defined $arow->{cancelled_at}, 'row: cancelled_at set';
    my $srow = db_row(q{SELECT *, sr_rfc3339(starts_at) AS s, sr_rfc3339(ends_at) AS e FROM slot_openings
                        WHERE source_appointment_id = ?}, $appt->{id});
    ok $srow, 'row: a slot opening for the appointment';
    is $srow->{id}, $slot->{id}, 'row: the one answered';
    is "$srow->{status} $srow->{s} $srow->{e}", "open $appt->{startsAt} $appt->{endsAt}", 'row: open, same times';
    is db_count('slot_openings'), 1, 'one slot opening';
    is db_count('slot_offers'), 1, 'one offer';
    is scalar @{ sent_messages() }, 1, 'one SMS';

    my $g = api(GET => "/api/appointments/$appt->{id}");
    is $g->status, 200, 'GET the cancelled appointment: 200';
    is $g->json->{status}, 'cancelled', '... cancelled';
    is $g->json->{cancelledAt}, $a->{cancelledAt}, '... the same cancelledAt';
}

# --- GET /api/slot-openings/{id} ---------------------------------------------------------------
{
    my $r = api(GET => "/api/slot-openings/$slot->{id}");
    is $r->status, 200, 'GET /api/slot-openings/{id}: 200' or diag $r->dump;
    my $v = $r->json;
    is $v->{id}, $slot->{id}, '... the slot opening';
    is $v->{status}, 'open', '... open';
    is $v->{sourceAppointmentId}, $appt->{id}, '... sourceAppointmentId';
    is scalar @{ $v->{offers} }, 1, '... one offer';
    my $o = $v->{offers}[0];
    is_deeply [ sort grep { !/^(?:filledAt|expiredAt|updatedAt)$/ } keys %$o ],
        [ sort qw(id customerId status sentAt expiresAt providerMessageId attempts lastError createdAt) ],
        '... offer members';
    is_deeply [ @$o{qw(id customerId createdAt)} ], [ @{ $slot->{offers}[0] }{qw(id customerId createdAt)} ],
        '... the offer the cancel answered';
    is $o->{status}, 'sent', '... sent by now';
    like $o->{providerMessageId}, qr/^SM/, "... with Twilio's message SID";
    is_json_kind($r, 'offers', 'array', '... offers is a JSON array');

    $r = api(GET => '/api/slot-openings/31337');
    is $r->status, 404, 'GET an unknown slot opening: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/slot/i, '... a JSON error';
}

# --- cancelling twice -------------------------------------------------------------------------
{
    my $before = table_counts();
    my $r = cancel($appt->{id});
    is $r->status, 200, 'cancel again: 200' or diag $r->dump;
    is $r->json->{appointment}{status}, 'cancelled', '... still cancelled';
    ok $r->json->{slotOpening}, '... with the slot opening';
    is $r->json->{slotOpening}{id}, $slot->{id}, '... the same slot opening';
    is scalar @{ $r->json->{slotOpening}{offers} || [] }, 1, '... still one offer';
    is db_count('slot_openings'), 1, 'still one slot opening row';
    is db_count('slot_offers'), 1, 'still one offer row';
    is scalar @{ sent_messages() }, 1, 'no second SMS';
    counts_unchanged($before, 'the second cancel wrote nothing');
}

# --- a past appointment, and one under way ------------------------------------------------------
{
    twilio_reset();
    my $past = make_appointment($shop->{id}, $bob->{id}, startsAt => iso_in(-2 * 86400),
        endsAt => iso_in(-2 * 86400 + 1800));
    my $r = cancel($past->{id});
    is $r->status, 200, 'cancel a past appointment: 200' or diag $r->dump;
    is $r->json->{appointment}{status}, 'cancelled', '... cancelled';
    ok exists $r->json->{slotOpening} && !defined $r->json->{slotOpening}, '... slotOpening null';
    is db_count('slot_openings WHERE source_appointment_id = ?', $past->{id}), 0, '... no slot opening row';

    my $running = make_appointment($shop->{id}, $bob->{id}, startsAt => iso_in(-600), endsAt => iso_in(1200));
    $r = cancel($running->{id});
    is $r->status, 200, 'cancel an appointment under way: 200' or diag $r->dump;
    ok !defined $r->json->{slotOpening}, '... slotOpening null (it has started)';
    is db_count('slot_openings WHERE source_appointment_id = ?', $running->{id}), 0, '... no slot opening row';
    is scalar @{ twilio_messages() }, 0, 'no SMS for either';

    $r = cancel($past->{id});
    is $r->status, 200, 'cancel the past one again: 200';
    ok !defined $r->json->{slotOpening}, '... still no slot opening';
}

# --- nobody to offer the slot to ----------------------------------------------------------------
{
    twilio_reset();
    my $lonely = make_shop(name => 'Lonely Shop');
    my $only = make_customer($lonely->{id}, name => 'Only One', phone => '+15553330009');
    my $a = make_appointment($lonely->{id}, $only->{id});
    my $r = cancel($a->{id});
    is $r->status, 200, 'cancel in a shop with no one else on the list: 200' or diag $r->dump;
    my $s = $r->json->{slotOpening};
    ok $s, '... a slot opening was created';
    is $s && $s->{status}, 'open', '... and stays open';
    ok $s && $s->{waiting}, '... waiting for a customer ("waiting": true)';
    is_json_kind($r, 'slotOpening.waiting', 'boolean', '... a JSON boolean');
    is_deeply $s && $s->{offers}, [], '... without offers';
    my $row = db_row('SELECT status, expired_reason, expired_at, waiting_since FROM slot_openings
                       WHERE source_appointment_id = ?', $a->{id});
    ok !defined $row->{expired_reason} && !defined $row->{expired_at}, 'row: not expired';
    ok defined $row->{waiting_since}, 'row: waiting_since set';
    is scalar @{ twilio_messages() }, 0, 'no SMS';
}

# --- a slot about to start (within SlotRecoveryOfferCutoff) ----------------------------------------
{
    twilio_reset();
    # Within the configured cutoff; when extra.conf leaves the default (5 to
    # 15 minutes), two minutes ahead is within it.
    my $cutoff = conf_value('SlotRecoveryOfferCutoff');
    my $ahead = defined $cutoff ? int($cutoff / 2) : 120;
    my $soon = make_appointment($shop->{id}, $bob->{id}, startsAt => iso_in($ahead),
        endsAt => iso_in($ahead + 1800));
    my $r = cancel($soon->{id});
    is $r->status, 200, 'cancel an appointment starting within the cutoff: 200' or diag $r->dump;
    my $s = $r->json->{slotOpening};
    ok $s, '... a slot opening (the appointment is in the future)';
    is $s && $s->{status}, 'expired', '... expired at once';
    is_deeply $s && $s->{offers}, [], '... without offers';
    is db_row('SELECT expired_reason FROM slot_openings WHERE source_appointment_id = ?', $soon->{id})->{expired_reason},
        'too_close_to_start', "row: expired_reason 'too_close_to_start'";
    is scalar @{ twilio_messages() }, 0, 'no SMS';
}

# --- unknown and malformed ids ------------------------------------------------------------------
{
    my $before = table_counts();
    my $r = cancel('123456789');
    is $r->status, 404, 'cancel an unknown appointment: 404' or diag $r->dump;
    like $r->json && $r->json->{error}, qr/appointment/i, '... a JSON error';
    for my $bad (qw(abc 0 -1 1.5 12a)) {
        $r = cancel($bad);
        is $r->status, 404, "cancel /api/appointments/$bad/cancel: 404" or diag $r->dump;
    }
    counts_unchanged($before, '... nothing written');
}

# --- without the secret -------------------------------------------------------------------------
{
    my $a = make_appointment($shop->{id}, $alice->{id});
    my $before = table_counts();
    my $r = cancel($a->{id}, secret => undef);
    is $r->status, 401, 'cancel without x-internal-secret: 401' or diag $r->dump;
    $r = cancel($a->{id}, secret => 'wrong');
    is $r->status, 401, 'cancel with a wrong secret: 401' or diag $r->dump;
    counts_unchanged($before, '... the appointment is still booked, nothing written');
    is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'booked', '... booked';
}

done_testing();
