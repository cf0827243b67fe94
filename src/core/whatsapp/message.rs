//! The WhatsApp messages a journey sends, built as the exact Graph API request bodies.
//!
//! Templates follow one button layout, documented in the README: a COPY_CODE button first when
//! the step carries a discount, then the URL button (`{APP_URL}/r/{{1}}`), then a QUICK_REPLY
//! "Not interested" whose payload we set so the tap comes back recognisably.

use serde::Serialize;

use crate::core::playbook::{Header, Step, Variable};
use crate::core::values::phone::Phone;

/// Payload of the "Not interested" quick reply; it comes back in the inbound `button` webhook.
pub const NOT_INTERESTED: &str = "not_interested";

/// Body of `POST /{version}/{phone_number_id}/messages` for a template.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TemplateMessage {
    pub messaging_product: String,
    pub recipient_type: String,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Echoed in status webhooks: `cb1;checkout={token};step={step_id}` (no personal data).
    pub biz_opaque_callback_data: String,
    pub template: TemplateBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TemplateBody {
    pub name: String,
    pub language: Language,
    pub components: Vec<Component>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Language {
    pub policy: String,
    pub code: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Component {
    Header {
        parameters: Vec<Parameter>,
    },
    Body {
        parameters: Vec<Parameter>,
    },
    Button {
        sub_type: String,
        index: String,
        parameters: Vec<Parameter>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Parameter {
    Text { text: String },
    CouponCode { coupon_code: String },
    Payload { payload: String },
    Image { image: MediaLink },
}

/// Media Meta fetches from a public https URL.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct MediaLink {
    pub link: String,
}

/// Body of a free-form text message, allowed only inside the shopper's 24-hour window.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TextMessage {
    pub messaging_product: String,
    pub recipient_type: String,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub text: TextBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TextBody {
    pub preview_url: bool,
    pub body: String,
}

/// WhatsApp's limit on a text message body.
pub const MAX_TEXT_CHARS: usize = 4096;

pub fn text_message(to: &Phone, body: &str) -> TextMessage {
    TextMessage {
        messaging_product: "whatsapp".into(),
        recipient_type: "individual".into(),
        to: to.as_str().into(),
        kind: "text".into(),
        text: TextBody {
            // Links in our replies (the recovery link) deserve their preview.
            preview_url: body.contains("https://"),
            body: body.chars().take(MAX_TEXT_CHARS).collect(),
        },
    }
}

/// Body of an interactive message with reply buttons (inside the 24-hour window only).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct InteractiveMessage {
    pub messaging_product: String,
    pub recipient_type: String,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub interactive: Interactive,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Interactive {
    #[serde(rename = "type")]
    pub kind: String,
    pub body: InteractiveText,
    pub action: ButtonsAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct InteractiveText {
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ButtonsAction {
    pub buttons: Vec<ReplyButton>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ReplyButton {
    #[serde(rename = "type")]
    pub kind: String,
    pub reply: ButtonReply,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ButtonReply {
    pub id: String,
    pub title: String,
}

/// WhatsApp's limit on an interactive message's body.
const MAX_INTERACTIVE_BODY_CHARS: usize = 1024;

/// `body` with up to three reply buttons `(id, title)`.
pub fn interactive_message(to: &Phone, body: &str, buttons: &[(&str, &str)]) -> InteractiveMessage {
    InteractiveMessage {
        messaging_product: "whatsapp".into(),
        recipient_type: "individual".into(),
        to: to.as_str().into(),
        kind: "interactive".into(),
        interactive: Interactive {
            kind: "button".into(),
            body: InteractiveText {
                text: body.chars().take(MAX_INTERACTIVE_BODY_CHARS).collect(),
            },
            action: ButtonsAction {
                buttons: buttons
                    .iter()
                    .take(3)
                    .map(|(id, title)| ReplyButton {
                        kind: "reply".into(),
                        reply: ButtonReply {
                            id: (*id).into(),
                            title: title.chars().take(20).collect(),
                        },
                    })
                    .collect(),
            },
        },
    }
}

/// Values the variables of a step are filled with, already formatted for the shopper.
pub trait Variables {
    fn value(&self, var: Variable) -> String;
}

/// Picks the template language for a shopper locale (`pt-BR`, `pt`, `en`): an exact match first,
/// then the same language in another region, then the playbook's default, then the first listed.
pub fn choose_language(languages: &[String], locale: Option<&str>, default: &str) -> String {
    let wanted = locale.map(|l| l.replace('-', "_").to_ascii_lowercase());
    let exact = wanted
        .as_deref()
        .and_then(|w| languages.iter().find(|l| l.to_ascii_lowercase() == w));
    let same_language = wanted.as_deref().and_then(|w| {
        let base = w.split('_').next().unwrap_or(w);
        languages
            .iter()
            .find(|l| l.to_ascii_lowercase().split('_').next() == Some(base))
    });
    exact
        .or(same_language)
        .or_else(|| languages.iter().find(|l| l.as_str() == default))
        .or(languages.first())
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// `header_image`: the link of the image header, for a step with `"header": "top_item_image"`
/// (the journey does not send such a step without one).
pub fn template_message(
    step: &Step,
    to: &Phone,
    language: String,
    callback: String,
    vars: &dyn Variables,
    header_image: Option<&str>,
) -> TemplateMessage {
    let text = |v: Variable| Parameter::Text {
        text: vars.value(v),
    };
    let mut components = vec![];
    if let (Some(Header::TopItemImage), Some(link)) = (step.header, header_image) {
        components.push(Component::Header {
            parameters: vec![Parameter::Image {
                image: MediaLink { link: link.into() },
            }],
        });
    }
    if !step.body_params.is_empty() {
        components.push(Component::Body {
            parameters: step.body_params.iter().map(|v| text(*v)).collect(),
        });
    }
    let mut index = 0;
    let mut button = |sub_type: &str, parameter: Parameter| {
        components.push(Component::Button {
            sub_type: sub_type.into(),
            index: index.to_string(),
            parameters: vec![parameter],
        });
        index += 1;
    };
    if step.discount.is_some() {
        button(
            "copy_code",
            Parameter::CouponCode {
                coupon_code: vars.value(Variable::DiscountCode),
            },
        );
    }
    if let Some(v) = step.button_url_param {
        button("url", text(v));
    }
    button(
        "quick_reply",
        Parameter::Payload {
            payload: NOT_INTERESTED.into(),
        },
    );
    TemplateMessage {
        messaging_product: "whatsapp".into(),
        recipient_type: "individual".into(),
        to: to.as_str().into(),
        kind: "template".into(),
        biz_opaque_callback_data: callback,
        template: TemplateBody {
            name: step.template.name.clone(),
            language: Language {
                policy: "deterministic".into(),
                code: language,
            },
            components,
        },
    }
}

/// A step's template filled with sample values, for the merchant's test message; its image
/// header, if any, shows `image` (the merchant's fallback image).
pub fn sample_message(
    step: &Step,
    to: &Phone,
    language: &str,
    shop_name: &str,
    image: Option<&str>,
) -> TemplateMessage {
    struct Sample<'a>(&'a str);
    impl Variables for Sample<'_> {
        fn value(&self, var: Variable) -> String {
            match var {
                Variable::FirstName => "Emily".into(),
                Variable::ShopName => self.0.into(),
                Variable::CartTotal => "$215.95".into(),
                Variable::ItemCount => "3".into(),
                Variable::TopItemTitle => "Merino Crew Sweater".into(),
                Variable::ItemsSummary => "Merino Crew Sweater and 2 more".into(),
                Variable::RecoveryToken => "test".into(),
                Variable::DiscountCode => "CB10-TEST".into(),
                Variable::DiscountPercent => "10%".into(),
            }
        }
    }
    let language = choose_language(&step.template.languages, None, language);
    template_message(
        step,
        to,
        language,
        "cb1;test".into(),
        &Sample(shop_name),
        image,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::playbook::Playbook;

    struct Fixed;
    impl Variables for Fixed {
        fn value(&self, var: Variable) -> String {
            match var {
                Variable::FirstName => "Emily".into(),
                Variable::DiscountPercent => "10%".into(),
                Variable::DiscountCode => "CB10-K7Q2XM".into(),
                Variable::RecoveryToken => "ASV1nmcp5Mlf7vXJZvODZ7".into(),
                other => format!("{other:?}"),
            }
        }
    }

    #[test]
    fn builds_the_fixture_offer_exactly() {
        let playbook = Playbook::default();
        let step = playbook.step(&"offer".into()).unwrap();
        let to = Phone::parse("+14165550142", None).unwrap();
        let msg = template_message(
            step,
            &to,
            "en_US".into(),
            "cb1;shop=68417253091;checkout=36521894117523;step=offer".into(),
            &Fixed,
            None,
        );
        let fixture: serde_json::Value = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/whatsapp/send-template-request.json"
        ))
        .unwrap();
        assert_eq!(serde_json::to_value(&msg).unwrap(), fixture);
    }

    #[test]
    fn an_image_header_comes_first_as_meta_takes_it() {
        let mut step = Playbook::default().steps[0].clone();
        step.header = Some(Header::TopItemImage);
        let to = Phone::parse("+14165550142", None).unwrap();
        let link = "https://cdn.shopify.com/s/files/1/sweater.jpg";
        let msg = template_message(&step, &to, "en_US".into(), "cb1".into(), &Fixed, Some(link));
        let v = serde_json::to_value(&msg).unwrap();
        assert_eq!(
            v["template"]["components"][0],
            serde_json::json!({"type": "header", "parameters": [{"type": "image", "image": {"link": link}}]})
        );
        assert_eq!(v["template"]["components"][1]["type"], "body");
        // A step without the header sends none, whatever it is given.
        let plain = &Playbook::default().steps[0];
        let msg = template_message(plain, &to, "en_US".into(), "cb1".into(), &Fixed, Some(link));
        assert_eq!(msg.template.components.len(), 3);
    }

    #[test]
    fn interactive_messages_keep_whatsapps_limits() {
        let to = Phone::parse("+14165550142", None).unwrap();
        let buttons = [
            ("a", "x"),
            ("b", "a title far longer than twenty"),
            ("c", "z"),
            ("d", "w"),
        ];
        let m =
            serde_json::to_value(interactive_message(&to, &"y".repeat(2000), &buttons)).unwrap();
        assert_eq!(m["type"], "interactive");
        assert_eq!(m["interactive"]["type"], "button");
        assert_eq!(
            m["interactive"]["body"]["text"].as_str().unwrap().len(),
            1024
        );
        let sent = m["interactive"]["action"]["buttons"].as_array().unwrap();
        assert_eq!(sent.len(), 3);
        assert_eq!(
            sent[1]["reply"]["title"].as_str().unwrap().chars().count(),
            20
        );
    }

    #[test]
    fn text_messages_are_cut_to_whatsapps_limit() {
        let to = Phone::parse("+14165550142", None).unwrap();
        let m = text_message(&to, &"x".repeat(5000));
        assert_eq!(m.text.body.chars().count(), MAX_TEXT_CHARS);
        assert!(!m.text.preview_url);
        assert_eq!(serde_json::to_value(&m).unwrap()["type"], "text");
    }

    #[test]
    fn language_falls_back_sensibly() {
        let langs = vec!["en_US".to_string(), "pt_BR".to_string()];
        assert_eq!(choose_language(&langs, Some("pt-BR"), "en_US"), "pt_BR");
        assert_eq!(choose_language(&langs, Some("pt"), "en_US"), "pt_BR");
        assert_eq!(choose_language(&langs, Some("de"), "en_US"), "en_US");
        assert_eq!(choose_language(&langs, None, "en_US"), "en_US");
        assert_eq!(choose_language(&langs, Some("fr"), "es_ES"), "en_US");
        assert_eq!(choose_language(&[], Some("fr"), "es_ES"), "es_ES");
    }
}
