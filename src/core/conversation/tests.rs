//! What replies mean, in five languages, and what the bot answers.

mod window {
    use super::super::*;
    use crate::core::values::time::Millis;

    #[test]
    fn buttons_fit_whatsapps_limits() {
        for lang in [Lang::En, Lang::Pt, Lang::Es, Lang::Fr, Lang::De] {
            for (id, title) in cart_buttons(lang) {
                assert!(title.chars().count() <= 20, "{title}");
                assert!(!id.is_empty());
            }
            // A tap on either button reads as what it says.
            let [(complete, title), (not_interested, other)] = cart_buttons(lang);
            let tap = |id: &str, title: &str| {
                interpret(
                    &Content::InteractiveReply {
                        id: id.into(),
                        title: title.into(),
                    },
                    &Faq::default(),
                    lang,
                )
            };
            assert_eq!(tap(complete, title), Intent::CompleteOrder);
            assert_eq!(tap(not_interested, other), Intent::NotInterested);
        }
    }

    #[test]
    fn the_service_window_lasts_24_hours_from_the_last_message() {
        let at = Millis(1_800_000_000_000);
        assert!(window_open(Some(at), at));
        assert!(window_open(Some(at), at.plus_millis(SERVICE_WINDOW_MS - 1)));
        assert!(!window_open(Some(at), at.plus_millis(SERVICE_WINDOW_MS)));
        assert!(!window_open(None, at));
        assert_eq!(
            window_closes_at(Some(at), at.plus_millis(1)),
            Some(at.plus_millis(SERVICE_WINDOW_MS))
        );
        assert_eq!(
            window_closes_at(Some(at), at.plus_millis(SERVICE_WINDOW_MS)),
            None
        );
        assert_eq!(
            confirmation_link("+1 628-555-0107"),
            "https://wa.me/16285550107?text=START"
        );
        // The prefilled text is what opts the phone back in.
        assert_eq!(
            interpret(&Content::Text("START".into()), &Faq::default(), Lang::En),
            Intent::OptIn
        );
    }
}

mod reading {
    use super::super::*;

    #[test]
    fn trying_a_question_gives_the_answer_the_bot_would_send() {
        let faq = Faq {
            entries: vec![FaqEntry {
                question: "Do you ship to Lisbon?".into(),
                answer: "Yes, in 3 days.".into(),
                language: Some("en".into()),
                keywords: vec!["ship".into(), "shipping".into(), "lisbon".into()],
            }],
        };
        assert_eq!(try_faq(&faq, "Do you ship to Lisbon?"), (Some(0), Lang::En));
        assert_eq!(
            try_faq(&faq, "Quero falar com uma pessoa"),
            (None, Lang::Pt)
        );
        assert_eq!(try_faq(&faq, "STOP").0, None);
    }

    fn text(t: &str) -> Intent {
        interpret(&Content::Text(t.into()), &Faq::default(), Lang::En)
    }

    #[test]
    fn stop_words_in_five_languages() {
        for msg in [
            "STOP",
            "Stop!",
            "stop.",
            "  stop  ",
            "Stop please",
            "please stop",
            "STOP STOP",
            "🛑 STOP 🛑",
            "\"Stop\"",
            "Unsubscribe",
            "unsubscribe me",
            "Opt-out",
            "STOPALL",
            "please stop messaging me",
            "Stop sending me messages!",
            "stop messages",
            "No more messages",
            "no more messages please",
            "I want to unsubscribe",
            "Can you stop texting me?",
            "cancel",
            "Leave me alone",
            "Hi, stop please",
            "stop now",
            "stop right now",
            "Can you please stop",
            "Please remove my number",
            "Danke schön, STOPP",
            "ok stop, thanks",
            // pt
            "PARAR",
            "Pare por favor",
            "pare, obrigado",
            "Sair",
            "Quero sair",
            "CANCELAR",
            "Não quero mais",
            "não quero mais mensagens",
            "Não quero receber mais mensagens",
            "Me tira da lista",
            "Pare de me mandar mensagem",
            "Olá, pare por favor",
            "chega!",
            // es
            "BAJA",
            "Baja por favor",
            "darme de baja",
            "Quiero darme de baja",
            "No más mensajes",
            "Deja de enviarme mensajes",
            "desinscribir",
            "DESINSCRIBIRME",
            "basta ya",
            "Gracias, no quiero recibir más mensajes",
            // fr
            "ARRÊT",
            "arret",
            "Arrêtez svp",
            "je veux me désabonner",
            "Je ne veux plus recevoir de messages",
            "Désinscription",
            "STOP merci",
            // de
            "STOPP",
            "Abmelden",
            "bitte abmelden",
            "Ich möchte mich abmelden",
            "Keine Nachrichten mehr, danke",
            "hör auf",
            "Abbestellen!",
            // decomposed accents (NFD) and fullwidth-free oddities
            "Arre\u{302}t",
            "NA\u{303}O QUERO MAIS",
        ] {
            assert_eq!(text(msg), Intent::OptOut, "{msg:?}");
        }
    }

    #[test]
    fn stop_words_inside_sentences_are_not_opt_outs() {
        for msg in [
            "don't stop",
            "Don't stop!",
            "please don't stop",
            "when will it stop raining?",
            "stop by the store later",
            "Can't stop thinking about those shoes",
            "non-stop delivery?",
            "bus stop",
            "stopover",
            "Is the sale going to end soon?",
            "How do I cancel my order?",
            "I want to stop by tomorrow",
            "Para mí, el azul",
            "para quando é a entrega?",
            "Não pare!",
            "¿Baja el precio?",
            "La baja de precio es buena",
            "sair para comprar",
            "Stopp den Versand nicht",
            "unsubscribe from what?",
            "Reply STOP to unsubscribe? I just want the shoes",
            "start",
            "thanks",
            "",
            "   ",
            "?!",
        ] {
            assert_ne!(text(msg), Intent::OptOut, "{msg:?}");
        }
        let long = format!("stop {}", "please ".repeat(20));
        assert_ne!(text(&long), Intent::OptOut, "keywords are short messages");
    }

    #[test]
    fn opt_in_words() {
        for msg in [
            "START",
            "Start!",
            "unstop",
            "Subscribe",
            "resume",
            "I want to subscribe",
            "voltar",
            "Quero voltar a receber",
            "alta",
            "darme de alta",
            "reprendre",
            "Anmelden",
            "wieder anmelden",
            "start please",
        ] {
            assert_eq!(text(msg), Intent::OptIn, "{msg:?}");
        }
        for msg in ["start my order", "when does the sale start?", "don't start"] {
            assert_ne!(text(msg), Intent::OptIn, "{msg:?}");
        }
    }

    #[test]
    fn requests_for_a_person() {
        for msg in [
            "Can I talk to a person?",
            "I want to speak with someone",
            "human",
            "HUMAN please",
            "Agent",
            "I need a human",
            "connect me to an agent",
            "Is there a real person I can talk to?",
            "No, I want to talk to a person",
            "Hi! Could I chat with your support team?",
            "falar com atendente",
            "Quero falar com um atendente",
            "posso falar com alguém?",
            "Atendente",
            "hablar con un agente",
            "¿Puedo hablar con una persona?",
            "Necesito un humano",
            "je voudrais parler à un conseiller",
            "Je veux parler à quelqu'un",
            "Kann ich mit einem Mitarbeiter sprechen?",
            "Ich brauche einen Menschen",
        ] {
            assert_eq!(text(msg), Intent::Human, "{msg:?}");
        }
        for msg in [
            "I don't need to talk to anyone",
            "I don't want to talk to a person",
            "no quiero hablar con un agente",
            "je ne veux parler à personne",
            "Ich möchte nicht mit einem Menschen sprechen",
            "Can someone tell me the price?",
            "I want to know if someone can deliver on Sunday",
            "Do you ship to Lisbon?",
            "personal engraving available?",
        ] {
            assert_ne!(text(msg), Intent::Human, "{msg:?}");
        }
    }

    #[test]
    fn quick_replies_and_buttons() {
        let faq = Faq::default();
        let read = |c: Content| interpret(&c, &faq, Lang::En);
        let button = |payload: &str, text: &str| Content::Button {
            payload: payload.into(),
            text: text.into(),
        };
        let reply = |id: &str, title: &str| Content::InteractiveReply {
            id: id.into(),
            title: title.into(),
        };
        assert_eq!(
            read(button("not_interested", "Not interested")),
            Intent::NotInterested
        );
        assert_eq!(
            read(button("Not interested", "Not interested")),
            Intent::NotInterested
        );
        assert_eq!(
            read(button("", "Não tenho interesse")),
            Intent::NotInterested
        );
        assert_eq!(
            read(button("complete_order", "Finish")),
            Intent::CompleteOrder
        );
        assert_eq!(read(button("Unsubscribe", "Unsubscribe")), Intent::OptOut);
        assert_eq!(read(button("promo_1", "Stop promotions")), Intent::Unknown);
        assert_eq!(read(button("view_cart", "View cart")), Intent::Unknown);
        assert_eq!(
            read(reply("complete_order", "Complete my order")),
            Intent::CompleteOrder
        );
        assert_eq!(
            read(reply("not_interested", "No thanks")),
            Intent::NotInterested
        );
        assert_eq!(read(reply("stop_msgs", "Stop messages")), Intent::OptOut);
        assert_eq!(read(reply("size_m", "M")), Intent::Unknown);
        assert_eq!(read(Content::Other("image".into())), Intent::Unknown);
        for msg in [
            "not interested",
            "Não tenho interesse",
            "no me interesa",
            "Kein Interesse!",
            "pas intéressé",
        ] {
            assert_eq!(text(msg), Intent::NotInterested, "{msg:?}");
        }
        assert_ne!(
            text("not interested in blue, do you have red?"),
            Intent::NotInterested
        );
    }

    #[test]
    fn fixture_replies() {
        use crate::core::whatsapp::inbound::{parse_webhook, InboundEvent};
        let content = |body: &[u8]| match parse_webhook(body).unwrap().pop() {
            Some(InboundEvent::Message { content, .. }) => content,
            other => panic!("{other:?}"),
        };
        let faq = sample_faq();
        let button = content(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-button.json"
        ));
        assert_eq!(interpret(&button, &faq, Lang::En), Intent::NotInterested);
        let interactive = content(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-interactive-button-reply.json"
        ));
        assert_eq!(
            interpret(&interactive, &faq, Lang::En),
            Intent::CompleteOrder
        );
        let question = content(include_bytes!(
            "../../../tests/fixtures/whatsapp/webhook-message-text.json"
        ));
        let lang = guess_language(question.text(), Some("en"));
        assert_eq!(lang, Lang::En);
        let Intent::Faq { index, confidence } = interpret(&question, &faq, lang) else {
            panic!("{:?}", interpret(&question, &faq, lang))
        };
        assert_eq!(index, 0);
        assert!((confidence - 0.7).abs() < 1e-6, "{confidence}");
    }

    fn entry(question: &str, answer: &str, language: Option<&str>, keywords: &[&str]) -> FaqEntry {
        FaqEntry {
            question: question.into(),
            answer: answer.into(),
            language: language.map(Into::into),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn sample_faq() -> Faq {
        Faq {
            entries: vec![
                entry(
                    "Do you ship internationally?",
                    "Yes, we ship to over 50 countries.",
                    Some("en"),
                    &["shipping", "international", "delivery"],
                ),
                entry(
                    "Vocês enviam para o exterior?",
                    "Sim, enviamos para mais de 50 países.",
                    Some("pt-BR"),
                    &["envio", "entrega", "internacional", "frete"],
                ),
                entry(
                    "What is your return policy?",
                    "You can return any item within 30 days.",
                    Some("en_US"),
                    &["return", "refund", "exchange"],
                ),
                entry(
                    "¿Hacen envíos internacionales?",
                    "Sí, enviamos a más de 50 países.",
                    Some("es"),
                    &["envío", "internacional"],
                ),
                entry(
                    "How long does delivery take?",
                    "Orders arrive in 3 to 5 business days.",
                    None,
                    &["delivery time"],
                ),
            ],
        }
    }

    fn faq_fields(faq: &Faq) -> Vec<String> {
        validate_faq(faq)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn faq_validation_bounds_every_field() {
        assert_eq!(validate_faq(&Faq::default()), Ok(()));
        assert_eq!(validate_faq(&sample_faq()), Ok(()));
        let one = |e: FaqEntry| Faq { entries: vec![e] };

        let full = Faq {
            entries: vec![entry("q", "a", None, &[]); MAX_FAQ_ENTRIES],
        };
        assert_eq!(validate_faq(&full), Ok(()));
        let mut over = full.clone();
        over.entries.push(entry("", "", None, &[]));
        assert_eq!(
            validate_faq(&over),
            Err(vec![FieldError {
                field: "entries".into(),
                message: "at most 100 entries".into()
            }]),
            "past the count, entries are not listed one by one"
        );

        let longest = |n: usize| "é".repeat(n);
        let question = longest(MAX_QUESTION_CHARS);
        let answer = longest(MAX_ANSWER_CHARS);
        let keyword = longest(MAX_KEYWORD_CHARS);
        assert_eq!(
            validate_faq(&one(entry(&question, &answer, None, &[&keyword]))),
            Ok(())
        );
        assert_eq!(
            faq_fields(&one(entry(&(question + "x"), &(answer + "x"), None, &[]))),
            ["entries[0].question", "entries[0].answer"]
        );
        assert_eq!(
            faq_fields(&one(entry(
                "",
                " \n ",
                None,
                &["ok", " ", &(keyword + "x")]
            ))),
            [
                "entries[0].question",
                "entries[0].answer",
                "entries[0].keywords[1]",
                "entries[0].keywords[2]"
            ]
        );

        let keywords = |n: usize| vec!["k"; n];
        assert_eq!(
            validate_faq(&one(entry("q", "a", None, &keywords(MAX_KEYWORDS)))),
            Ok(())
        );
        let mut too_many = keywords(MAX_KEYWORDS + 1);
        too_many[0] = "";
        let errors = validate_faq(&one(entry("q", "a", None, &too_many))).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "entries[0].keywords");
        assert_eq!(errors[0].message, "at most 20 keywords");
    }

    #[test]
    fn faq_languages_are_codes() {
        let with = |language: &str| Faq {
            entries: vec![entry("q", "a", Some(language), &[])],
        };
        for ok in [
            "en",
            "pt-BR",
            "en_US",
            "zh-Hant-TW",
            "",
            &"x".repeat(MAX_LANGUAGE_CHARS),
        ] {
            assert_eq!(validate_faq(&with(ok)), Ok(()), "{ok:?}");
        }
        for bad in [
            "pt BR",
            "en1",
            "fr.",
            "日本",
            &"x".repeat(MAX_LANGUAGE_CHARS + 1),
        ] {
            assert_eq!(faq_fields(&with(bad)), ["entries[0].language"], "{bad:?}");
        }
    }

    fn faq_index(faq: &Faq, msg: &str, lang: Lang) -> Option<usize> {
        let (found, confidence) = match_faq(faq, msg, lang)?;
        assert!((FAQ_THRESHOLD..=1.0).contains(&confidence), "{confidence}");
        faq.entries.iter().position(|e| std::ptr::eq(e, found))
    }

    #[test]
    fn faq_answers_confident_matches_in_the_shoppers_language() {
        let faq = sample_faq();
        assert_eq!(faq_index(&faq, "Do you ship to Lisbon?", Lang::En), Some(0));
        assert_eq!(
            faq_index(
                &faq,
                "Hi! Quick question: do you ship to Lisbon? Thanks",
                Lang::En
            ),
            Some(0)
        );
        assert_eq!(
            faq_index(&faq, "I wanted to know if you ship to Lisbon", Lang::En),
            Some(0)
        );
        assert_eq!(
            faq_index(
                &faq,
                "Oi, queria saber se vocês entregam em Lisboa",
                Lang::Pt
            ),
            Some(1)
        );
        assert_eq!(faq_index(&faq, "shipping to Portugal?", Lang::En), Some(0));
        assert_eq!(
            faq_index(&faq, "Do you ship internationally", Lang::En),
            Some(0)
        );
        assert_eq!(
            faq_index(&faq, "Vocês entregam em Lisboa?", Lang::Pt),
            Some(1)
        );
        assert_eq!(
            faq_index(&faq, "¿Hacen envíos a Lisboa?", Lang::Es),
            Some(3)
        );
        assert_eq!(faq_index(&faq, "Can I get a refund?", Lang::En), Some(2));
        assert_eq!(
            faq_index(&faq, "what's your RETURN policy", Lang::En),
            Some(2)
        );
        assert_eq!(
            faq_index(&faq, "how long does delivery take", Lang::Fr),
            Some(4)
        );
        let (_, exact) = match_faq(&faq, "Do you ship internationally?", Lang::En).unwrap();
        assert!((exact - 1.0).abs() < 1e-6);
        let (_, lisbon) = match_faq(&faq, "Do you ship to Lisbon?", Lang::En).unwrap();
        assert!((lisbon - 0.7).abs() < 1e-6);
    }

    #[test]
    fn faq_stays_quiet_when_unsure() {
        let faq = sample_faq();
        for msg in [
            "Do you have it in blue?",
            "I bought shoes last week but the shipping label was wrong",
            "What's the shipping cost for a blue sweater in size M?",
            "hello",
            "",
            "?!",
            "the and of to",
            "🙂🙂🙂",
        ] {
            assert_eq!(match_faq(&faq, msg, Lang::En), None, "{msg:?}");
        }
        let without_keywords = Faq {
            entries: vec![entry("Do you ship internationally?", "Yes.", None, &[])],
        };
        assert_eq!(
            match_faq(&without_keywords, "Do you ship to Lisbon?", Lang::En),
            None
        );
        assert_eq!(
            match_faq(&Faq::default(), "Do you ship to Lisbon?", Lang::En),
            None
        );
    }

    #[test]
    fn faq_prefers_the_shoppers_language_and_refuses_ties() {
        let same = |lang: Option<&str>, answer: &str| {
            entry("Do you ship internationally?", answer, lang, &["shipping"])
        };
        let faq = Faq {
            entries: vec![
                same(Some("en"), "Yes."),
                same(Some("pt"), "Sim."),
                same(None, "Any."),
            ],
        };
        assert_eq!(faq_index(&faq, "shipping?", Lang::Pt), Some(1));
        assert_eq!(faq_index(&faq, "shipping?", Lang::En), Some(0));
        assert_eq!(
            faq_index(&faq, "shipping?", Lang::Fr),
            Some(2),
            "untagged beats foreign"
        );
        let blank = Faq {
            entries: vec![same(Some("en"), "Yes."), same(Some(" "), "Any.")],
        };
        assert_eq!(
            faq_index(&blank, "shipping?", Lang::Fr),
            Some(1),
            "blank is untagged"
        );

        let ambiguous = Faq {
            entries: vec![
                entry(
                    "Do you ship internationally?",
                    "Yes.",
                    Some("en"),
                    &["shipping"],
                ),
                entry(
                    "How much is shipping?",
                    "It's free.",
                    Some("en"),
                    &["shipping"],
                ),
            ],
        };
        assert_eq!(match_faq(&ambiguous, "shipping?", Lang::En), None);
        assert_eq!(
            faq_index(&ambiguous, "how much is shipping", Lang::En),
            None,
            "both 1.0"
        );
        // The same answer twice is no ambiguity.
        let twice = Faq {
            entries: vec![
                entry("Do you ship abroad?", "Yes.", None, &["shipping"]),
                entry("International shipping?", " Yes.", None, &["shipping"]),
            ],
        };
        assert_eq!(faq_index(&twice, "shipping?", Lang::En), Some(0));
    }

    #[test]
    fn faq_survives_odd_entries() {
        let faq = Faq {
            entries: vec![
                entry("", "empty", None, &[]),
                entry("?", "punctuation", Some("xx-YY-ZZ"), &["", "the", "🙂"]),
                entry(&"ship ".repeat(10_000), "huge", Some(""), &["shipping"]),
            ],
        };
        let (found, _) = match_faq(&faq, "shipping?", Lang::En).unwrap();
        assert_eq!(found.answer, "huge");
        assert_eq!(match_faq(&faq, &"é".repeat(100_000), Lang::En), None);
        let parsed: Faq =
            serde_json::from_str(r#"{"entries":[{"question":"Q?","answer":"A."}]}"#).unwrap();
        assert_eq!(parsed.entries[0].language, None);
        assert!(parsed.entries[0].keywords.is_empty());
        assert_eq!(serde_json::from_str::<Faq>("{}").unwrap(), Faq::default());
    }

    #[test]
    fn questions_go_through_the_faq_only_after_keywords_and_people() {
        let faq = sample_faq();
        let read = |t: &str| interpret(&Content::Text(t.into()), &faq, Lang::En);
        assert_eq!(read("stop"), Intent::OptOut);
        assert_eq!(read("can I talk to someone about shipping?"), Intent::Human);
        assert!(matches!(
            read("Do you ship to Lisbon?"),
            Intent::Faq { index: 0, .. }
        ));
        assert_eq!(read("Is it available in red?"), Intent::Unknown);
    }

    #[test]
    fn language_guesses() {
        for (msg, hint, want) in [
            ("STOP", Some("pt-BR"), Lang::Pt),
            ("STOP", None, Lang::En),
            ("STOP", Some("it"), Lang::En),
            ("Sair", Some("en"), Lang::Pt),
            ("Parar", Some("es"), Lang::Es),
            ("Parar", Some("pt_BR"), Lang::Pt),
            ("BAJA", None, Lang::Es),
            ("STOPP", None, Lang::De),
            ("ARRÊT", None, Lang::Fr),
            ("Olá, vocês entregam em Lisboa?", Some("en"), Lang::Pt),
            ("Do you ship to Lisbon?", Some("pt-BR"), Lang::En),
            ("Wann kommt meine Bestellung?", None, Lang::De),
            ("Quand allez-vous livrer ?", None, Lang::Fr),
            ("¿Hacen envíos a Madrid?", None, Lang::Es),
            ("Não", None, Lang::Pt),
            ("Größe?", None, Lang::De),
            ("👍", Some("fr-CA"), Lang::Fr),
            ("ok", None, Lang::En),
            ("", Some("DE"), Lang::De),
            ("de", Some("es"), Lang::Es),
        ] {
            assert_eq!(guess_language(msg, hint), want, "{msg:?} {hint:?}");
        }
    }

    #[test]
    fn locales() {
        assert_eq!(Lang::from_locale("pt-BR"), Some(Lang::Pt));
        assert_eq!(Lang::from_locale("pt_BR"), Some(Lang::Pt));
        assert_eq!(Lang::from_locale(" EN "), Some(Lang::En));
        assert_eq!(Lang::from_locale("es-419"), Some(Lang::Es));
        assert_eq!(Lang::from_locale("de_CH"), Some(Lang::De));
        assert_eq!(Lang::from_locale("fr"), Some(Lang::Fr));
        assert_eq!(Lang::from_locale("it"), None);
        assert_eq!(Lang::from_locale(""), None);
        assert_eq!(Lang::from_locale("english"), None);
        assert_eq!(serde_json::to_string(&Lang::Pt).unwrap(), r#""pt""#);
    }

    #[test]
    fn replies_exist_and_agree_with_the_keywords() {
        let kinds = [
            ReplyKind::OptOutConfirmation,
            ReplyKind::OptInConfirmation,
            ReplyKind::HumanAck,
            ReplyKind::NotInterestedAck,
            ReplyKind::RecoveryLink,
        ];
        for lang in Lang::ALL {
            for kind in kinds {
                let reply = reply_text(kind, lang);
                assert!(
                    !reply.is_empty() && reply.chars().count() <= 200,
                    "{kind:?} {lang:?}"
                );
            }
            // The confirmation names the way back, and that way works.
            assert!(reply_text(ReplyKind::OptOutConfirmation, lang).contains("START"));
            assert!(reply_text(ReplyKind::OptInConfirmation, lang).contains("STOP"));
        }
        assert_eq!(text("START"), Intent::OptIn);
        assert_eq!(text("STOP"), Intent::OptOut);
    }

    /// Every table entry is written the way messages are normalized, is reachable (no courtesy
    /// word or lead-in swallows it), and means one thing only.
    #[test]
    fn tables_are_normalized_and_disjoint() {
        let tables = [
            ("opt-out", OPT_OUT),
            ("opt-in", OPT_IN),
            ("not interested", NOT_INTERESTED_PHRASES),
            ("human", HUMAN_PHRASES),
        ];
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (name, table) in tables {
            for (_, phrases) in table {
                for phrase in *phrases {
                    let normalized: Vec<String> = words(phrase, 99)
                        .iter()
                        .map(|w| canonical(w).to_owned())
                        .collect();
                    assert_eq!(normalized.join(" "), *phrase, "{name}: {phrase}");
                    assert_eq!(core_phrase(&words(phrase, 99)), *phrase, "{name}: {phrase}");
                    if let Some((other, _)) = seen.iter().find(|(n, p)| p == phrase && *n != name) {
                        panic!("{phrase:?} is both {other} and {name}");
                    }
                    seen.push((name, phrase));
                }
            }
        }
        for list in [
            COURTESY,
            LEAD_INS,
            CONTACT_VERBS,
            WANT_VERBS,
            PERSON_NOUNS,
            NEGATIONS,
        ] {
            for item in list {
                assert_eq!(words(item, 99).join(" "), *item);
            }
        }
        for (_, list) in FUNCTION_WORDS {
            for (i, word) in list.iter().enumerate() {
                assert_eq!(words(word, 99).join(" "), *word);
                assert!(!list[..i].contains(word), "{word} twice");
            }
        }
    }

    #[test]
    fn folding() {
        assert_eq!(
            words("ARRÊT! Straße, ŒUVRE ça-va? NÃO", 99),
            ["arret", "strasse", "oeuvre", "ca", "va", "nao"]
        );
        assert_eq!(words("don’t l'aide", 99), ["don", "t", "l", "aide"]);
        assert_eq!(words("a b c", 2), ["a", "b"]);
        assert_eq!(words("🛑stop🛑", 99), ["stop"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}", hint in "[a-zA-Z_-]{0,6}") {
            let faq = sample_faq();
            let lang = guess_language(&s, Some(&hint));
            let _ = interpret(&Content::Text(s.clone()), &faq, lang);
            let _ = interpret(&Content::Button { payload: s.clone(), text: s.clone() }, &faq, lang);
            let _ = interpret(&Content::InteractiveReply { id: s.clone(), title: s.clone() }, &faq, lang);
            if let Some((_, c)) = match_faq(&faq, &s, lang) {
                proptest::prop_assert!((FAQ_THRESHOLD..=1.0).contains(&c));
            }
        }

        /// Wrapping a stop word in a sentence that does not end or start with courtesy never
        /// makes an opt-out.
        #[test]
        fn stop_inside_a_sentence_is_not_an_opt_out(before in "[a-z]{6,9}", after in "[a-z]{6,9}") {
            let edge = |w: &str| COURTESY.contains(&w) || LEAD_INS.contains(&w);
            proptest::prop_assume!(!edge(&before) && !edge(&after));
            let msg = format!("{before} stop {after}");
            proptest::prop_assert_ne!(text(&msg), Intent::OptOut);
        }
    }
}
