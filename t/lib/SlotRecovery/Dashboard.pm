# SPDX-License-Identifier: Apache-2.0
package SlotRecovery::Dashboard;

# Helpers shared by t/dashboard/*.t and t/browser/*.t: requests as a dashboard
# user (HTTP Basic auth), the HTML pages taken apart with HTML::TreeBuilder,
# times in a shop's zone, and the setup through the API (a user granted a
# shop, a cancel, a signed Twilio YES). Built on SlotRecovery::Test; see the
# POD at the end.

use strict;
use warnings;

use Carp qw(croak);
use Encode ();
use Exporter qw(import);
use HTML::TreeBuilder ();
use MIME::Base64 ();
use POSIX qw(strftime);

use SlotRecovery::Test qw(api db_row public_base_url twilio_account_sid twilio_signature);

our @EXPORT_OK = qw(
    auth page post_form grant
    tree text badge rows links figures
    local_time iso_at
    cancel_api sms_yes
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# make_shop's default time zone (SlotRecovery::Test).
use constant DEFAULT_TZ => 'America/New_York';

# ---------------------------------------------------------------------------
# HTTP as a dashboard user

# The Authorization header of a dashboard user (every one has password "secret").
sub auth { return +{ Authorization => 'Basic ' . MIME::Base64::encode_base64("$_[0]:secret", '') } }

# GET as a dashboard user (undef: no credentials); ->{html} is the decoded body.
sub page {
    my ($user, $path, %o) = @_;
    my $r = api(GET => $path, undef, no_secret => 1, headers => (defined $user ? auth($user) : {}), %o);
    $r->{html} = Encode::decode('UTF-8', $r->body // '');
    return $r;
}

# application/x-www-form-urlencoded, byte for byte as the callers always sent it.
sub _form_encode {
    my ($form) = @_;
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s };
    return join '&', map { $enc->($_) . '=' . $enc->($form->{$_}) } sort keys %$form;
}

# POST a form as a dashboard user.
sub post_form {
    my ($user, $path, $form) = @_;
    my $r = api(POST => $path, undef, no_secret => 1, raw => _form_encode($form),
        content_type => 'application/x-www-form-urlencoded', headers => (defined $user ? auth($user) : {}));
    $r->{html} = Encode::decode('UTF-8', $r->body // '');
    return $r;
}

# POST /api/shops/{id}/users: $user may see the shop; dies unless 201.
sub grant {
    my ($shop_id, $user) = @_;
    my $r = api(POST => "/api/shops/$shop_id/users", { username => $user });
    die "grant $user: " . $r->dump unless $r->status == 201;
}

# ---------------------------------------------------------------------------
# The HTML

sub tree {
    my $t = HTML::TreeBuilder->new;
    $t->ignore_unknown(0);
    $t->parse($_[0]{html});
    $t->eof;
    return $t;
}

# An element's text, white space collapsed; undef for no element.
sub text {
    my ($e) = @_;
    return undef unless $e;
    my $s = $e->as_text;
    $s =~ s/\s+/ /g;
    $s =~ s/^ | $//g;
    return $s;
}

# The kind of the status badge in an element ("open", "filled", ...), or a
# description of the mismatch when its class and its text differ.
sub badge {
    my ($e) = @_;
    my $b = $e && $e->look_down(_tag => 'span', class => qr/\bbadge\b/);
    return undef unless $b;
    my ($kind) = ($b->attr('class') =~ /\bbadge-(\S+)/);
    return $kind eq $b->as_text ? $kind : "class $kind, text " . $b->as_text;
}

# The body rows of a table: arrayrefs of <td> elements.
sub rows {
    my ($table) = @_;
    return () unless $table;
    my $body = $table->look_down(_tag => 'tbody') || $table;
    return map { [ $_->look_down(_tag => 'td') ] } grep { $_->look_down(_tag => 'td') } $body->look_down(_tag => 'tr');
}

# The <a> elements whose text matches $re.
sub links {
    my ($t, $re) = @_;
    return grep { text($_) =~ $re } $t->look_down(_tag => 'a');
}

# The Slot Recovery figures: { label => value }.
sub figures {
    my ($t) = @_;
    # (HTML::TreeBuilder does not keep <div> inside <dl>: pair the dt and dd.)
    my @dt = $t->look_down(_tag => 'dt');
    my @dd = $t->look_down(_tag => 'dd');
    return { map { text($dt[$_]) => text($dd[$_]) } 0 .. $#dt };
}

# ---------------------------------------------------------------------------
# Times

# strftime($fmt) of $epoch in time zone $tz (default: make_shop's, America/New_York).
sub local_time {
    my ($epoch, $fmt, $tz) = @_;
    local $ENV{TZ} = $tz // DEFAULT_TZ;
    POSIX::tzset();
    my $s = strftime($fmt, localtime $epoch);
    POSIX::tzset();
    return $s;
}

# $epoch as YYYY-MM-DDTHH:MM:SSZ.
sub iso_at { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

# ---------------------------------------------------------------------------
# Setup through the API

# POST /api/appointments/{id}/cancel; dies unless 200. Returns the id of the
# slot opening it made.
sub cancel_api {
    my ($id) = @_;
    my $r = api(POST => "/api/appointments/$id/cancel");
    die 'cancel failed: ' . $r->dump unless $r->status == 200;
    return db_row('SELECT id FROM slot_openings WHERE source_appointment_id = ?', $id)->{id};
}

# A signed inbound SMS (Twilio's webhook) from $from to the shop's number $to.
my $sid_seq;
sub sms_yes {
    my ($from, $to, $body) = @_;
    my $sid = sprintf 'SM%08x%024x', $$, ++$sid_seq;
    my %p = (MessageSid => $sid, SmsMessageSid => $sid, AccountSid => twilio_account_sid(), From => $from,
        To => $to, Body => $body // 'YES', NumMedia => '0', ApiVersion => '2010-04-01');
    my $path = '/api/twilio/inbound';
    return api(POST => $path, undef, no_secret => 1, raw => _form_encode(\%p),
        content_type => 'application/x-www-form-urlencoded',
        headers => { 'X-Twilio-Signature' => twilio_signature(public_base_url() . $path, \%p) });
}

1;

__END__

=head1 NAME

SlotRecovery::Dashboard - dashboard pages and their setup for the mod_slotrecovery suite

=head1 SYNOPSIS

  use SlotRecovery::Test qw(:all);
  use SlotRecovery::Dashboard qw(:all);

  my $shop = make_shop(name => 'Salon', timezone => 'Asia/Kolkata');
  grant($shop->{id}, 'owner1');                     # owner1 sees the shop
  my $r = page(owner1 => '/app/appointments');      # GET with Basic auth
  my $t = tree($r);                                 # HTML::TreeBuilder
  is figures($t)->{'Slots opened'}, '0';
  is text($t->look_down(_tag => 'h1')), '...';
  $t->delete;

=head1 FUNCTIONS

HTTP: C<auth($user)> (the Authorization header; every user's password is
"secret"), C<page($user, $path, %api_opts)> (GET; C<$user> undef sends no
credentials), C<post_form($user, $path, \%form)>; both return the
SlotRecovery::Test response with C<{html}>, the body decoded from UTF-8.
C<grant($shop_id, $user)>: POST /api/shops/{id}/users, dies unless 201.

HTML: C<tree($r)> parses C<$r-E<gt>{html}> (call C<-E<gt>delete> when done);
C<text($e)> (white space collapsed, undef for no element), C<badge($e)> (the
badge-KIND of the status badge in C<$e>), C<rows($table)> (arrayrefs of the
body rows' C<td>s), C<links($t, qr/.../)> (the C<a>s whose text matches),
C<figures($t)> (the Slot Recovery figures, label =E<gt> value).

Times: C<local_time($epoch, $fmt, $tz)> is strftime in time zone C<$tz>
(default America/New_York, make_shop's default); C<iso_at($epoch)> is
C<YYYY-MM-DDTHH:MM:SSZ>.

Setup: C<cancel_api($appointment_id)> cancels through the API (dies unless
200) and returns the id of the slot opening; C<sms_yes($from, $to, $body)>
sends a signed Twilio inbound SMS (C<$body> default "YES").

=cut
